package interaction

import (
	"context"
	"time"

	"github.com/kehu-crm/kehu/pkg/auth"
	"github.com/kehu-crm/kehu/pkg/customerref"
	"github.com/kehu-crm/kehu/pkg/errs"
	"github.com/kehu-crm/kehu/pkg/event"
	"github.com/kehu-crm/kehu/pkg/idempotency"
)

// CompleteFollowUpInput is the input of CompleteFollowUp: exactly one of
// InteractionName (already recorded) and NewInteraction.
type CompleteFollowUpInput struct {
	Name            string
	InteractionName string
	NewInteraction  *Interaction
	Etag            string
	RequestID       string
}

// CompleteResult is the outcome of CompleteFollowUp.
type CompleteResult struct {
	FollowUp    *FollowUp
	Interaction *Interaction
	Next        *FollowUp
}

// fulfillment is the interaction that fulfils a follow-up, resolved and
// validated before the transaction: either an existing one to link or a
// new one to record.
type fulfillment struct {
	linkID   string
	linkName string
	record   *Interaction
}

// completion is what one completion wrote, so the response can name it.
type completion struct {
	interactionID string
	nextID        string
	events        []event.Event
}

// CompleteFollowUp closes a planned follow-up with the interaction that
// fulfilled it and, for a recurring one, plans the next occurrence.
func (s *Service) CompleteFollowUp(ctx context.Context, in CompleteFollowUpInput) (CompleteResult, error) {
	a, err := auth.AccessFrom(ctx)
	if err != nil {
		return CompleteResult{}, err
	}
	cur, err := s.loadFollowUp(ctx, a, in.Name)
	if err != nil {
		return CompleteResult{}, err
	}
	ful, err := s.resolveFulfillment(ctx, a, cur, in)
	if err != nil {
		return CompleteResult{}, err
	}
	var done completion
	_, _, err = idempotency.Run(ctx, s.store.InTx, "CompleteFollowUp", in.RequestID, in, func(ctx context.Context, tx Tx) (string, error) {
		done = completion{}
		f, err := s.lockPlanned(ctx, tx, cur.ID, in.Name, in.Etag)
		if err != nil {
			return "", err
		}
		now := s.now()
		if err := s.fulfil(ctx, tx, a, f, ful, now, &done); err != nil {
			return "", err
		}
		if err := s.close(ctx, tx, a, f, in.Name, now, &done); err != nil {
			return "", err
		}
		return f.ID, tx.Emit(ctx, done.events...)
	})
	if err != nil {
		return CompleteResult{}, err
	}
	return s.readCompletion(ctx, a, cur.ID, done)
}

// resolveFulfillment checks the fulfilment the caller gave: an interaction
// of the same customer, or a new one that defaults its kind and channel
// from the follow-up and is validated like any other.
func (s *Service) resolveFulfillment(ctx context.Context, a auth.Access, cur *FollowUp, in CompleteFollowUpInput) (fulfillment, error) {
	switch {
	case in.InteractionName != "" && in.NewInteraction != nil:
		return fulfillment{}, errs.InvalidField("fulfillment", "give either interaction or new_interaction, not both")
	case in.InteractionName != "":
		customerID, id, err := ParseInteractionName("interaction", in.InteractionName)
		if err != nil {
			return fulfillment{}, err
		}
		if customerID != cur.CustomerID {
			return fulfillment{}, errs.InvalidField("interaction", "must be an interaction of %s", CustomerName(cur.CustomerID))
		}
		return fulfillment{linkID: id, linkName: in.InteractionName}, nil
	case in.NewInteraction != nil:
		raw := *in.NewInteraction
		if raw.Kind == "" {
			raw.Kind = KindFollowUpVisit
			if cur.CareRuleID != "" {
				raw.Kind = KindCareGreeting
			}
		}
		if raw.Channel == "" {
			raw.Channel = cur.Channel
		}
		record, err := s.prepare(ctx, a, cur.CustomerID, &raw, "new_interaction")
		if err != nil {
			return fulfillment{}, err
		}
		ref, err := customerref.Require(ctx, s.customers, "name", cur.CustomerID)
		if err != nil {
			return fulfillment{}, err
		}
		record.Stage = ref.Stage
		return fulfillment{record: record}, nil
	default:
		return fulfillment{}, errs.InvalidField("fulfillment", "give the interaction that fulfilled the follow-up, or a new_interaction to record")
	}
}

// fulfil records the new interaction, or links the existing one after
// checking under lock that it is still live and not fulfilling another
// follow-up.
func (s *Service) fulfil(ctx context.Context, tx Tx, a auth.Access, f *FollowUp, ful fulfillment, now time.Time, done *completion) error {
	if ful.record != nil {
		i := *ful.record
		i.ID, i.Revision, i.CreateTime, i.UpdateTime, i.FollowUpID = newID(), 1, now, now, f.ID
		if err := tx.InsertInteractions(ctx, &i); err != nil {
			return err
		}
		done.interactionID = i.ID
		done.events = append(done.events, event.Event{Type: EventInteractionCreated, Subject: InteractionName(i.CustomerID, i.ID), Actor: a.Actor(), Data: &i})
		return nil
	}
	i, err := tx.LockInteraction(ctx, ful.linkID)
	if err != nil {
		return notFoundAs(err, ful.linkName)
	}
	switch {
	case i.CustomerID != f.CustomerID:
		return errs.NotFound(ful.linkName)
	case i.DeleteTime != nil:
		return errs.FailedPrecondition("INTERACTION_DELETED", "%s is deleted", ful.linkName)
	case i.FollowUpID != "" && i.FollowUpID != f.ID:
		return errs.FailedPrecondition("INTERACTION_ALREADY_LINKED", "%s already fulfilled %s", ful.linkName, FollowUpName(i.CustomerID, i.FollowUpID))
	}
	i.FollowUpID, i.Revision, i.UpdateTime = f.ID, i.Revision+1, now
	if err := tx.UpdateInteraction(ctx, i); err != nil {
		return err
	}
	done.interactionID = i.ID
	done.events = append(done.events, event.Event{Type: EventInteractionUpdated, Subject: ful.linkName, Actor: a.Actor(), Data: i})
	return nil
}

// close marks the follow-up completed and plans the next occurrence of a
// recurring one.
func (s *Service) close(ctx context.Context, tx Tx, a auth.Access, f *FollowUp, name string, now time.Time, done *completion) error {
	f.State, f.InteractionID, f.CloseTime = StateCompleted, done.interactionID, &now
	f.Revision++
	f.UpdateTime = now
	if err := tx.UpdateFollowUp(ctx, f); err != nil {
		return err
	}
	done.events = append(done.events, event.Event{Type: EventFollowUpCompleted, Subject: name, Actor: a.Actor(), Data: f})
	next := recur(f, now)
	if next == nil {
		return nil
	}
	if err := tx.InsertFollowUp(ctx, next); err != nil {
		return err
	}
	done.nextID = next.ID
	done.events = append(done.events, event.Event{Type: EventFollowUpCreated, Subject: FollowUpName(next.CustomerID, next.ID), Actor: a.Actor(), Data: next})
	return nil
}

// readCompletion reads back what the completion wrote. A replayed request
// ran no transaction, so the ids come from the stored follow-up instead.
func (s *Service) readCompletion(ctx context.Context, a auth.Access, followUpID string, done completion) (CompleteResult, error) {
	var (
		res CompleteResult
		err error
	)
	if res.FollowUp, err = s.readFollowUp(ctx, a, followUpID); err != nil {
		return CompleteResult{}, err
	}
	interID := done.interactionID
	if interID == "" {
		interID = res.FollowUp.InteractionID
	}
	if interID != "" {
		if res.Interaction, err = s.readInteraction(ctx, a, interID); err != nil {
			return CompleteResult{}, err
		}
	}
	if done.nextID != "" {
		if res.Next, err = s.readFollowUp(ctx, a, done.nextID); err != nil {
			return CompleteResult{}, err
		}
	}
	return res, nil
}

// recur returns the next occurrence of a recurring follow-up closed at now:
// due one interval after the previous due time, skipping occurrences that
// are already past, so a late completion does not create a backlog.
func recur(f *FollowUp, now time.Time) *FollowUp {
	if f.Recurrence.Interval <= 0 {
		return nil
	}
	due := f.Recurrence.Next(f.DueTime)
	for i := 0; !due.After(now) && i < 10000; i++ {
		due = f.Recurrence.Next(due)
	}
	return &FollowUp{
		ID: newID(), CustomerID: f.CustomerID, Purpose: f.Purpose, Channel: f.Channel, Assignee: f.Assignee,
		DueTime: due, Recurrence: f.Recurrence, State: StatePlanned, CareRuleID: f.CareRuleID,
		PreviousID: f.ID, Message: f.Message, Revision: 1, CreateTime: now, UpdateTime: now,
	}
}
