package customer

import (
	"context"

	"github.com/kehu-crm/kehu/pkg/auth"
	"github.com/kehu-crm/kehu/pkg/errs"
	"github.com/kehu-crm/kehu/pkg/event"
	"github.com/kehu-crm/kehu/pkg/idempotency"
)

// CreateInput is the input of Create.
type CreateInput struct {
	Customer        *Customer
	RequestID       string
	AllowDuplicates bool
}

// Create creates a customer.
func (s *Service) Create(ctx context.Context, in CreateInput) (*Customer, error) {
	a, err := auth.AccessFrom(ctx)
	if err != nil {
		return nil, err
	}
	if in.Customer == nil {
		return nil, errs.InvalidField("customer", "is required")
	}
	c := in.Customer.Clone()
	if err := s.norm.Normalize(c, "customer"); err != nil {
		return nil, err
	}
	if a.Scope() != "" && c.AccountManager == "" {
		// An agent's new customer is theirs unless they say otherwise.
		c.AccountManager = a.Actor()
	}
	if err := a.CheckAssignee(c.AccountManager, "customer.account_manager"); err != nil {
		return nil, err
	}
	in.Customer = c
	id, _, err := idempotency.Run(ctx, s.store.InTx, "CreateCustomer", in.RequestID, in, func(ctx context.Context, tx Tx) (string, error) {
		now := s.now()
		c.ID = newID()
		c.Points = 0
		c.Membership = s.tiers.For(0)
		c.Revision = 1
		c.CreateTime, c.UpdateTime, c.DeleteTime = now, now, nil
		c.MergedIDs = nil
		if err := tx.Insert(ctx, c); err != nil {
			return "", err
		}
		if err := s.claimContacts(ctx, tx, a, c.ID, c.Emails, c.Phones, !in.AllowDuplicates); err != nil {
			return "", err
		}
		return c.ID, tx.Emit(ctx, event.Event{Type: EventCreated, Subject: c.Name(), Actor: a.Actor(), Data: c})
	})
	if err != nil {
		return nil, err
	}
	return s.read(ctx, a, id)
}
