package customer

import (
	"context"

	"github.com/kehu-crm/kehu/pkg/auth"
	"github.com/kehu-crm/kehu/pkg/errs"
	"github.com/kehu-crm/kehu/pkg/event"
	"github.com/kehu-crm/kehu/pkg/idempotency"
	"github.com/kehu-crm/kehu/pkg/resource"
)

// Delete soft-deletes a customer.
func (s *Service) Delete(ctx context.Context, in resource.Mutation) (*Customer, error) {
	return s.setDeleted(ctx, in, true)
}

// Undelete restores a soft-deleted customer.
func (s *Service) Undelete(ctx context.Context, in resource.Mutation) (*Customer, error) {
	return s.setDeleted(ctx, in, false)
}

func (s *Service) setDeleted(ctx context.Context, in resource.Mutation, deleted bool) (*Customer, error) {
	a, err := auth.AccessFrom(ctx)
	if err != nil {
		return nil, err
	}
	id, err := ParseName("name", in.Name)
	if err != nil {
		return nil, err
	}
	method, evType := "DeleteCustomer", EventDeleted
	if !deleted {
		method, evType = "UndeleteCustomer", EventUndeleted
	}
	id, _, err = idempotency.Run(ctx, s.store.InTx, method, in.RequestID, in, func(ctx context.Context, tx Tx) (string, error) {
		c, err := s.lockVisible(ctx, tx, a, id)
		if err != nil {
			return "", err
		}
		if err := resource.CheckEtag(in.Etag, c.Etag(), c.Name()); err != nil {
			return "", err
		}
		if c.Deleted() == deleted {
			if deleted {
				return "", errs.FailedPrecondition("CUSTOMER_DELETED", "%s is already deleted", c.Name())
			}
			return "", errs.FailedPrecondition("CUSTOMER_NOT_DELETED", "%s is not deleted", c.Name())
		}
		if !deleted && c.ExternalID != "" {
			// The external id may have been reused while this one was deleted.
			if c.ExternalID, err = s.freeExternalID(ctx, tx, c); err != nil {
				return "", err
			}
		}
		c.DeleteTime = nil
		if deleted {
			now := s.now()
			c.DeleteTime = &now
		}
		if err := s.save(ctx, tx, c); err != nil {
			return "", err
		}
		// A deleted customer owns no contacts; a restored one takes back
		// those no one took meanwhile and shares the others, as
		// allow_duplicates would: restoring a record must not fail.
		if deleted {
			err = tx.ReleaseAllContacts(ctx, []string{c.ID})
		} else {
			err = s.claimContacts(ctx, tx, a, c.ID, c.Emails, c.Phones, false)
		}
		if err != nil {
			return "", err
		}
		return c.ID, tx.Emit(ctx, event.Event{Type: evType, Subject: c.Name(), Actor: a.Actor(), Data: c})
	})
	if err != nil {
		return nil, err
	}
	s.cache.Invalidate(ctx, id)
	return s.read(ctx, a, id)
}

// freeExternalID keeps an undeleted customer's external id unless a live
// customer took it meanwhile; then it is cleared rather than failing.
func (s *Service) freeExternalID(ctx context.Context, tx Tx, c *Customer) (string, error) {
	taken, err := tx.ExternalIDTaken(ctx, c.ExternalID, c.ID)
	if err != nil || taken {
		return "", err
	}
	return c.ExternalID, nil
}

// Purge erases a customer for good.
func (s *Service) Purge(ctx context.Context, in resource.Mutation) (string, error) {
	a, err := auth.AccessFrom(ctx)
	if err != nil {
		return "", err
	}
	id, err := ParseName("name", in.Name)
	if err != nil {
		return "", err
	}
	var erased []string
	_, _, err = idempotency.Run(ctx, s.store.InTx, "PurgeCustomer", in.RequestID, in, func(ctx context.Context, tx Tx) (string, error) {
		c, err := s.lockVisible(ctx, tx, a, id)
		if err != nil {
			return "", err
		}
		if err := resource.CheckEtag(in.Etag, c.Etag(), c.Name()); err != nil {
			return "", err
		}
		if erased, err = tx.Purge(ctx, c.ID); err != nil {
			return "", err
		}
		evs := make([]event.Event, 0, len(erased))
		for _, e := range erased {
			evs = append(evs, event.Event{Type: EventPurged, Subject: Name(e), Actor: a.Actor(), Data: PurgedData{ID: e}})
		}
		return c.ID, tx.Emit(ctx, evs...)
	})
	if err != nil {
		return "", err
	}
	s.cache.Invalidate(ctx, append(erased, id)...)
	return in.Name, nil
}
