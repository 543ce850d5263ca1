package customer

import (
	"context"

	"github.com/kehu-crm/kehu/pkg/auth"
	"github.com/kehu-crm/kehu/pkg/errs"
	"github.com/kehu-crm/kehu/pkg/event"
	"github.com/kehu-crm/kehu/pkg/idempotency"
	"github.com/kehu-crm/kehu/pkg/resource"
)

// TransitionInput is the input of Transition.
type TransitionInput struct {
	Name      string
	Stage     Stage
	Reason    string
	Etag      string
	RequestID string
}

// Transition moves a customer to another lifecycle stage. Any stage may
// follow any other (a churned customer can come back as a prospect), but a
// "transition" to the current stage is refused so history stays meaningful.
func (s *Service) Transition(ctx context.Context, in TransitionInput) (*Customer, *Transition, error) {
	a, err := auth.AccessFrom(ctx)
	if err != nil {
		return nil, nil, err
	}
	var v errs.Violations
	id, err := ParseName("name", in.Name)
	if err != nil {
		return nil, nil, err
	}
	if in.Stage == "" {
		v.Add("stage", "is required")
	}
	in.Reason = checkReason(in.Reason, "reason", &v)
	if err := v.Err(); err != nil {
		return nil, nil, err
	}
	var t *Transition
	tid, _, err := idempotency.Run(ctx, s.store.InTx, "TransitionLifecycleStage", in.RequestID, in, func(ctx context.Context, tx Tx) (string, error) {
		c, err := s.lockVisible(ctx, tx, a, id)
		if err != nil {
			return "", err
		}
		if c.Deleted() {
			return "", errs.FailedPrecondition("CUSTOMER_DELETED", "%s is deleted", c.Name())
		}
		if err := resource.CheckEtag(in.Etag, c.Etag(), c.Name()); err != nil {
			return "", err
		}
		if c.Stage == in.Stage {
			return "", errs.FailedPrecondition("SAME_STAGE", "%s is already in stage %s", c.Name(), in.Stage)
		}
		t = &Transition{ID: newID(), CustomerID: c.ID, From: c.Stage, To: in.Stage, Reason: in.Reason, Actor: a.Actor(), CreateTime: s.now()}
		c.Stage = in.Stage
		if err := s.save(ctx, tx, c); err != nil {
			return "", err
		}
		if err := tx.InsertTransition(ctx, t); err != nil {
			return "", err
		}
		return t.ID, tx.Emit(ctx,
			event.Event{Type: EventStageChanged, Subject: c.Name(), Actor: a.Actor(), Data: t},
			event.Event{Type: EventUpdated, Subject: c.Name(), Actor: a.Actor(), Data: c})
	})
	if err != nil {
		return nil, nil, err
	}
	s.cache.Invalidate(ctx, id)
	c, err := s.read(ctx, a, id)
	if err != nil {
		return nil, nil, err
	}
	if t == nil { // replayed: find the recorded transition
		if t, err = s.store.GetTransition(ctx, tid); err != nil {
			return nil, nil, err
		}
	}
	return c, t, nil
}
