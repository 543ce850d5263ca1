package interaction

import (
	"context"
	"slices"

	"github.com/kehu-crm/kehu/pkg/auth"
	"github.com/kehu-crm/kehu/pkg/customerref"
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
	if err := a.CheckAssignee(f.Assignee, "follow_up.assignee"); err != nil {
		return nil, err
	}
	ref, err := customerref.Require(ctx, s.customers, "parent", customerID)
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

// readFollowUp reads a follow-up back after a change, as the caller may
// see it now (a replayed request id included).
func (s *Service) readFollowUp(ctx context.Context, a auth.Access, id string) (*FollowUp, error) {
	f, err := s.store.GetFollowUp(ctx, id)
	if err != nil {
		return nil, err
	}
	ok, err := s.canSee(ctx, a, f.CustomerID, f.Assignee)
	if err != nil {
		return nil, err
	}
	if !ok {
		return nil, errs.NotFound(FollowUpName(f.CustomerID, f.ID))
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
	if q.Scope, err = s.listScope(ctx, a, q.CustomerID); err != nil {
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

// followUpFields are the update_mask paths of a follow-up.
var followUpFields = resource.Fields{
	Updatable:  []string{"purpose", "channel", "assignee", "due_time", "recurrence", "message"},
	OutputOnly: []string{"name", "state", "interaction", "care_rule", "previous", "cancel_reason", "close_time", "create_time", "update_time", "etag"},
}

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
	paths, err := followUpFields.CheckMask(in.Paths)
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
		if f.Assignee != cur.Assignee {
			if err := a.CheckAssignee(f.Assignee, "follow_up.assignee"); err != nil {
				return "", err
			}
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
