package customer

import (
	"context"
	"maps"
	"slices"
	"strings"

	"github.com/kehu-crm/kehu/pkg/auth"
	"github.com/kehu-crm/kehu/pkg/errs"
	"github.com/kehu-crm/kehu/pkg/event"
	"github.com/kehu-crm/kehu/pkg/idempotency"
	"github.com/kehu-crm/kehu/pkg/resource"
)

// customerFields are the update_mask paths of a customer. Everything not
// updatable is output only or changed through a dedicated method.
var customerFields = resource.Fields{
	Updatable: []string{
		"kind", "display_name", "emails", "phones", "company", "title", "address",
		"address.street", "address.city", "address.region", "address.postal_code", "address.country_code",
		"birthday", "source", "value_tier", "need_profile", "account_manager", "tags", "attributes",
		"marketing_consent", "external_id",
	},
	OutputOnly: []string{"name", "create_time", "update_time", "delete_time", "etag", "merged_customers"},
	Dedicated: map[string]string{
		"lifecycle_stage": "TransitionLifecycleStage",
		"loyalty_points":  "AdjustPoints",
		"membership_tier": "AdjustPoints",
	},
}

// UpdateInput is the input of Update.
type UpdateInput struct {
	Customer  *Customer
	Etag      string
	Paths     []string
	RequestID string
}

// Update changes the fields named in Paths.
func (s *Service) Update(ctx context.Context, in UpdateInput) (*Customer, error) {
	a, err := auth.AccessFrom(ctx)
	if err != nil {
		return nil, err
	}
	if in.Customer == nil {
		return nil, errs.InvalidField("customer", "is required")
	}
	name := Name(in.Customer.ID)
	paths, err := customerFields.CheckMask(in.Paths)
	if err != nil {
		return nil, err
	}
	var changedManager bool
	id, _, err := idempotency.Run(ctx, s.store.InTx, "UpdateCustomer", in.RequestID, in, func(ctx context.Context, tx Tx) (string, error) {
		cur, err := s.lockVisible(ctx, tx, a, in.Customer.ID)
		if err != nil {
			return "", err
		}
		if cur.Deleted() {
			return "", errs.FailedPrecondition("CUSTOMER_DELETED", "%s is deleted; undelete it first", name)
		}
		if err := resource.CheckEtag(in.Etag, cur.Etag(), name); err != nil {
			return "", err
		}
		next := cur.Clone()
		applyMask(next, in.Customer, paths)
		if err := s.norm.Normalize(next, "customer"); err != nil {
			return "", err
		}
		if next.AccountManager != cur.AccountManager {
			if err := a.CheckAssignee(next.AccountManager, "customer.account_manager"); err != nil {
				return "", err
			}
			changedManager = true
		}
		if err := s.save(ctx, tx, next); err != nil {
			return "", err
		}
		if err := s.changeContacts(ctx, tx, a, cur, next); err != nil {
			return "", err
		}
		evs := []event.Event{{Type: EventUpdated, Subject: name, Actor: a.Actor(), Data: next}}
		if changedManager {
			evs = append(evs, event.Event{Type: EventManagerAssigned, Subject: name, Actor: a.Actor(), Data: next})
		}
		return next.ID, tx.Emit(ctx, evs...)
	})
	if err != nil {
		return nil, err
	}
	s.cache.Invalidate(ctx, id)
	return s.read(ctx, a, id)
}

// Fields lists the top-level fields of a customer, sorted: what a saved
// view may show as columns.
func Fields() []string {
	var out []string
	for _, f := range slices.Concat(customerFields.Updatable, customerFields.OutputOnly, slices.Collect(maps.Keys(customerFields.Dedicated))) {
		if !strings.Contains(f, ".") {
			out = append(out, f)
		}
	}
	slices.Sort(out)
	return out
}
