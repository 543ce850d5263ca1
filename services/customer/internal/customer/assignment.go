package customer

import (
	"context"
	"strconv"
	"strings"

	"github.com/kehu-crm/kehu/pkg/auth"
	"github.com/kehu-crm/kehu/pkg/errs"
	"github.com/kehu-crm/kehu/pkg/event"
	"github.com/kehu-crm/kehu/pkg/idempotency"
	"github.com/kehu-crm/kehu/pkg/resource"
)

// AssignInput is the input of Assign.
type AssignInput struct {
	Name           string
	AccountManager string
	Etag           string
	RequestID      string
}

// Assign sets or clears one customer's account manager.
func (s *Service) Assign(ctx context.Context, in AssignInput) (*Customer, error) {
	a, err := auth.AccessFrom(ctx)
	if err != nil {
		return nil, err
	}
	id, err := ParseName("name", in.Name)
	if err != nil {
		return nil, err
	}
	in.AccountManager = strings.TrimSpace(in.AccountManager)
	if in.AccountManager != "" && !subjectPattern.MatchString(in.AccountManager) {
		return nil, errs.InvalidField("account_manager", "must be a user id of 1 to 128 letters, digits or @._:-")
	}
	if err := a.CheckAssignee(in.AccountManager, "account_manager"); err != nil {
		return nil, err
	}
	_, _, err = idempotency.Run(ctx, s.store.InTx, "AssignAccountManager", in.RequestID, in, func(ctx context.Context, tx Tx) (string, error) {
		c, err := s.lockVisible(ctx, tx, a, id)
		if err != nil {
			return "", err
		}
		if err := resource.CheckEtag(in.Etag, c.Etag(), c.Name()); err != nil {
			return "", err
		}
		if c.AccountManager == in.AccountManager {
			return c.ID, nil
		}
		c.AccountManager = in.AccountManager
		if err := s.save(ctx, tx, c); err != nil {
			return "", err
		}
		return c.ID, tx.Emit(ctx, event.Event{Type: EventManagerAssigned, Subject: c.Name(), Actor: a.Actor(), Data: c})
	})
	if err != nil {
		return nil, err
	}
	s.cache.Invalidate(ctx, id)
	return s.read(ctx, a, id)
}

// BatchAssignInput is the input of BatchAssign.
type BatchAssignInput struct {
	Filter         string
	AccountManager string
	RequestID      string
}

// BatchAssign sets the account manager of every live customer matching a
// filter, in one transaction, and returns how many were assigned.
func (s *Service) BatchAssign(ctx context.Context, in BatchAssignInput) (int64, error) {
	a, err := auth.AccessFrom(ctx)
	if err != nil {
		return 0, err
	}
	if strings.TrimSpace(in.Filter) == "" {
		return 0, errs.InvalidField("filter", "is required; a batch assignment of every customer must say so, e.g. `create_time > \"1970-01-01T00:00:00Z\"`")
	}
	in.AccountManager = strings.TrimSpace(in.AccountManager)
	if in.AccountManager != "" && !subjectPattern.MatchString(in.AccountManager) {
		return 0, errs.InvalidField("account_manager", "must be a user id of 1 to 128 letters, digits or @._:-")
	}
	if err := a.CheckAssignee(in.AccountManager, "account_manager"); err != nil {
		return 0, err
	}
	var ids []string
	count, _, err := idempotency.Run(ctx, s.store.InTx, "BatchAssignAccountManager", in.RequestID, in, func(ctx context.Context, tx Tx) (string, error) {
		if ids, err = tx.AssignWhere(ctx, in.Filter, a.Scope(), in.AccountManager, s.now()); err != nil {
			return "", err
		}
		evs := make([]event.Event, 0, len(ids))
		for _, id := range ids {
			c, err := tx.Lock(ctx, id)
			if err != nil {
				return "", err
			}
			evs = append(evs, event.Event{Type: EventManagerAssigned, Subject: c.Name(), Actor: a.Actor(), Data: c})
		}
		return strconv.Itoa(len(ids)), tx.Emit(ctx, evs...)
	})
	if err != nil {
		return 0, err
	}
	s.cache.Invalidate(ctx, ids...)
	n, _ := strconv.ParseInt(count, 10, 64)
	return n, nil
}
