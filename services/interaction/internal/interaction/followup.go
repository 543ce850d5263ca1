package interaction

import (
	"context"
	"slices"
	"time"

	"github.com/kehu-crm/kehu/pkg/auth"
	"github.com/kehu-crm/kehu/pkg/errs"
	"github.com/kehu-crm/kehu/pkg/event"
	"github.com/kehu-crm/kehu/pkg/idempotency"
	"github.com/kehu-crm/kehu/pkg/pagetoken"
	"github.com/kehu-crm/kehu/pkg/resource"
)

// CreateFollowUpInput is the input of CreateFollowUp.
type CreateFollowUpInput struct {
	Parent    string
	FollowUp  *FollowUp
	RequestID string
}

// CreateFollowUp plans a follow-up for a customer the caller can access.
func (s *Service) CreateFollowUp(ctx context.Context, in CreateFollowUpInput) (*FollowUp, error) {
	a, err := auth.AccessFrom(ctx)
	if err != nil {
		return nil, err
	}
	customerID, err := ParseParent("parent", in.Parent, false)
	if err != nil {
		return nil, err
	}
	if in.FollowUp == nil {
		return nil, errs.InvalidField("follow_up", "is required")
	}
	f := *in.FollowUp
	if err := normalizeFollowUp(&f, "follow_up", s.now(), true); err != nil {
		return nil, err
	}
	if f.Assignee == "" {
		f.Assignee = a.Actor()
	}
	ref, err := s.lookupCustomer(ctx, "parent", customerID)
	if err != nil {
		return nil, err
	}
	customerID = ref.ID
	id, _, err := idempotency.Run(ctx, s.store.InTx, "CreateFollowUp", in.RequestID, in, func(ctx context.Context, tx Tx) (string, error) {
		now := s.now()
		f.ID, f.CustomerID, f.State, f.Revision = newID(), customerID, StatePlanned, 1
		f.CreateTime, f.UpdateTime = now, now
		if err := tx.InsertFollowUp(ctx, &f); err != nil {
			return "", err
		}
		return f.ID, tx.Emit(ctx, event.Event{Type: EventFollowUpCreated, Subject: FollowUpName(customerID, f.ID), Actor: a.Actor(), Data: &f})
	})
	if err != nil {
		return nil, err
	}
	return s.readFollowUp(ctx, a, id)
}

func (s *Service) readFollowUp(ctx context.Context, a auth.Access, id string) (*FollowUp, error) {
	f, err := s.store.GetFollowUp(ctx, id)
	if err != nil {
		return nil, err
	}
	return viewFollowUp(a, f), nil
}

func (s *Service) loadFollowUp(ctx context.Context, a auth.Access, name string) (*FollowUp, error) {
	customerID, id, err := ParseFollowUpName("name", name)
	if err != nil {
		return nil, err
	}
	f, err := s.store.GetFollowUp(ctx, id)
	if err != nil {
		return nil, notFoundAs(err, name)
	}
	if f.CustomerID != customerID {
		return nil, errs.NotFound(name)
	}
	ok, err := s.canSee(ctx, a, f.CustomerID, f.Assignee)
	if err != nil {
		return nil, err
	}
	if !ok {
		return nil, errs.NotFound(name)
	}
	return f, nil
}

// GetFollowUp returns a follow-up.
func (s *Service) GetFollowUp(ctx context.Context, name string) (*FollowUp, error) {
	a, err := auth.AccessFrom(ctx)
	if err != nil {
		return nil, err
	}
	f, err := s.loadFollowUp(ctx, a, name)
	if err != nil {
		return nil, err
	}
	return viewFollowUp(a, f), nil
}

// ListFollowUps lists follow-ups by due time, earliest (most overdue) first.
func (s *Service) ListFollowUps(ctx context.Context, in ListInput) ([]*FollowUp, string, error) {
	a, err := auth.AccessFrom(ctx)
	if err != nil {
		return nil, "", err
	}
	in.ShowDeleted = false
	q, query, err := listQuery(a, "followUps", in)
	if err != nil {
		return nil, "", err
	}
	rows, err := s.store.ListFollowUps(ctx, q)
	if err != nil {
		return nil, "", err
	}
	next := ""
	if len(rows) == q.Limit {
		rows = rows[:len(rows)-1]
		last := rows[len(rows)-1]
		next = pagetoken.Encode(query, Cursor{Time: last.DueTime, ID: last.ID})
	}
	for n, f := range rows {
		rows[n] = viewFollowUp(a, f)
	}
	return rows, next, nil
}

var (
	followUpUpdatable  = []string{"purpose", "channel", "assignee", "due_time", "recurrence", "message"}
	followUpOutputOnly = []string{"name", "state", "interaction", "care_rule", "previous", "cancel_reason", "close_time", "create_time", "update_time", "etag"}
)

// UpdateFollowUpInput is the input of UpdateFollowUp.
type UpdateFollowUpInput struct {
	Name      string
	FollowUp  *FollowUp
	Etag      string
	Paths     []string
	RequestID string
}

// UpdateFollowUp changes a planned follow-up.
func (s *Service) UpdateFollowUp(ctx context.Context, in UpdateFollowUpInput) (*FollowUp, error) {
	a, err := auth.AccessFrom(ctx)
	if err != nil {
		return nil, err
	}
	if in.FollowUp == nil {
		return nil, errs.InvalidField("follow_up", "is required")
	}
	paths, err := checkMask(in.Paths, followUpUpdatable, followUpOutputOnly)
	if err != nil {
		return nil, err
	}
	cur, err := s.loadFollowUp(ctx, a, in.Name)
	if err != nil {
		return nil, err
	}
	id, _, err := idempotency.Run(ctx, s.store.InTx, "UpdateFollowUp", in.RequestID, in, func(ctx context.Context, tx Tx) (string, error) {
		f, err := s.lockPlanned(ctx, tx, cur.ID, in.Name, in.Etag)
		if err != nil {
			return "", err
		}
		for _, p := range paths {
			switch p {
			case "purpose":
				f.Purpose = in.FollowUp.Purpose
			case "channel":
				f.Channel = in.FollowUp.Channel
			case "assignee":
				f.Assignee = in.FollowUp.Assignee
			case "due_time":
				f.DueTime = in.FollowUp.DueTime
			case "recurrence":
				f.Recurrence = in.FollowUp.Recurrence
			case "message":
				f.Message = in.FollowUp.Message
			}
		}
		if err := normalizeFollowUp(f, "follow_up", s.now(), slices.Contains(paths, "due_time")); err != nil {
			return "", err
		}
		if f.Assignee == "" {
			return "", errs.InvalidField("follow_up.assignee", "is required")
		}
		f.Revision++
		f.UpdateTime = s.now()
		if err := tx.UpdateFollowUp(ctx, f); err != nil {
			return "", err
		}
		return f.ID, tx.Emit(ctx, event.Event{Type: EventFollowUpUpdated, Subject: in.Name, Actor: a.Actor(), Data: f})
	})
	if err != nil {
		return nil, err
	}
	return s.readFollowUp(ctx, a, id)
}

// lockPlanned locks a follow-up that must still be planned.
func (s *Service) lockPlanned(ctx context.Context, tx Tx, id, name, etag string) (*FollowUp, error) {
	f, err := tx.LockFollowUp(ctx, id)
	if err != nil {
		return nil, err
	}
	if err := resource.CheckEtag(etag, f.Etag(), name); err != nil {
		return nil, err
	}
	if f.State != StatePlanned {
		return nil, errs.FailedPrecondition("FOLLOW_UP_CLOSED", "%s is %s; only planned follow-ups can change", name, f.State)
	}
	return f, nil
}

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
	var (
		linkID   string
		newInter *Interaction
	)
	switch {
	case in.InteractionName != "" && in.NewInteraction != nil:
		return CompleteResult{}, errs.InvalidField("fulfillment", "give either interaction or new_interaction, not both")
	case in.InteractionName != "":
		customerID, id, err := ParseInteractionName("interaction", in.InteractionName)
		if err != nil {
			return CompleteResult{}, err
		}
		if customerID != cur.CustomerID {
			return CompleteResult{}, errs.InvalidField("interaction", "must be an interaction of %s", CustomerName(cur.CustomerID))
		}
		linkID = id
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
		if newInter, err = s.prepare(ctx, a, cur.CustomerID, &raw, "new_interaction"); err != nil {
			return CompleteResult{}, err
		}
		ref, err := s.lookupCustomer(ctx, "name", cur.CustomerID)
		if err != nil {
			return CompleteResult{}, err
		}
		newInter.Stage = ref.Stage
	default:
		return CompleteResult{}, errs.InvalidField("fulfillment", "give the interaction that fulfilled the follow-up, or a new_interaction to record")
	}

	var nextID, interID string
	_, _, err = idempotency.Run(ctx, s.store.InTx, "CompleteFollowUp", in.RequestID, in, func(ctx context.Context, tx Tx) (string, error) {
		nextID, interID = "", ""
		f, err := s.lockPlanned(ctx, tx, cur.ID, in.Name, in.Etag)
		if err != nil {
			return "", err
		}
		now := s.now()
		var events []event.Event
		if newInter != nil {
			i := *newInter
			i.ID, i.Revision, i.CreateTime, i.UpdateTime, i.FollowUpID = newID(), 1, now, now, f.ID
			if err := tx.InsertInteractions(ctx, &i); err != nil {
				return "", err
			}
			interID = i.ID
			events = append(events, event.Event{Type: EventInteractionCreated, Subject: InteractionName(i.CustomerID, i.ID), Actor: a.Actor(), Data: &i})
		} else {
			i, err := tx.LockInteraction(ctx, linkID)
			if err != nil {
				return "", notFoundAs(err, in.InteractionName)
			}
			switch {
			case i.CustomerID != f.CustomerID:
				return "", errs.NotFound(in.InteractionName)
			case i.DeleteTime != nil:
				return "", errs.FailedPrecondition("INTERACTION_DELETED", "%s is deleted", in.InteractionName)
			case i.FollowUpID != "" && i.FollowUpID != f.ID:
				return "", errs.FailedPrecondition("INTERACTION_ALREADY_LINKED", "%s already fulfilled %s", in.InteractionName, FollowUpName(i.CustomerID, i.FollowUpID))
			}
			i.FollowUpID, i.Revision, i.UpdateTime = f.ID, i.Revision+1, now
			if err := tx.UpdateInteraction(ctx, i); err != nil {
				return "", err
			}
			interID = i.ID
			events = append(events, event.Event{Type: EventInteractionUpdated, Subject: in.InteractionName, Actor: a.Actor(), Data: i})
		}
		f.State, f.InteractionID, f.CloseTime = StateCompleted, interID, &now
		f.Revision++
		f.UpdateTime = now
		if err := tx.UpdateFollowUp(ctx, f); err != nil {
			return "", err
		}
		events = append(events, event.Event{Type: EventFollowUpCompleted, Subject: in.Name, Actor: a.Actor(), Data: f})
		if next := recur(f, now); next != nil {
			if err := tx.InsertFollowUp(ctx, next); err != nil {
				return "", err
			}
			nextID = next.ID
			events = append(events, event.Event{Type: EventFollowUpCreated, Subject: FollowUpName(next.CustomerID, next.ID), Actor: a.Actor(), Data: next})
		}
		return f.ID, tx.Emit(ctx, events...)
	})
	if err != nil {
		return CompleteResult{}, err
	}
	var res CompleteResult
	if res.FollowUp, err = s.readFollowUp(ctx, a, cur.ID); err != nil {
		return CompleteResult{}, err
	}
	// A replayed request does not know the ids; read them from the record.
	if interID == "" {
		interID = res.FollowUp.InteractionID
	}
	if interID != "" {
		i, err := s.store.GetInteraction(ctx, interID)
		if err != nil {
			return CompleteResult{}, err
		}
		res.Interaction = viewInteraction(a, i)
	}
	if nextID != "" {
		if res.Next, err = s.readFollowUp(ctx, a, nextID); err != nil {
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

// CancelFollowUpInput is the input of CancelFollowUp.
type CancelFollowUpInput struct {
	Name      string
	Reason    string
	Etag      string
	RequestID string
}

// CancelFollowUp cancels a planned follow-up.
func (s *Service) CancelFollowUp(ctx context.Context, in CancelFollowUpInput) (*FollowUp, error) {
	a, err := auth.AccessFrom(ctx)
	if err != nil {
		return nil, err
	}
	var v errs.Violations
	in.Reason = checkText(&v, "reason", in.Reason, 500, false)
	if err := v.Err(); err != nil {
		return nil, err
	}
	cur, err := s.loadFollowUp(ctx, a, in.Name)
	if err != nil {
		return nil, err
	}
	id, _, err := idempotency.Run(ctx, s.store.InTx, "CancelFollowUp", in.RequestID, in, func(ctx context.Context, tx Tx) (string, error) {
		f, err := s.lockPlanned(ctx, tx, cur.ID, in.Name, in.Etag)
		if err != nil {
			return "", err
		}
		now := s.now()
		f.State, f.CancelReason, f.CloseTime = StateCancelled, in.Reason, &now
		f.Revision++
		f.UpdateTime = now
		if err := tx.UpdateFollowUp(ctx, f); err != nil {
			return "", err
		}
		return f.ID, tx.Emit(ctx, event.Event{Type: EventFollowUpCancelled, Subject: in.Name, Actor: a.Actor(), Data: f})
	})
	if err != nil {
		return nil, err
	}
	return s.readFollowUp(ctx, a, id)
}
