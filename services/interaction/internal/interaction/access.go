package interaction

import (
	"context"

	"github.com/kehu-crm/kehu/pkg/auth"
	"github.com/kehu-crm/kehu/pkg/errs"
)

// canSee applies the agent rule to one record: handled by the agent, or of
// a customer the agent may see.
func (s *Service) canSee(ctx context.Context, a auth.Access, customerID, handler string) (bool, error) {
	if a.Scope() == "" || handler == a.Subject {
		return true, nil
	}
	return s.canSeeCustomer(ctx, a, customerID)
}

// canSeeCustomer reports whether the caller may see a customer's records:
// by its account manager in the projection, or, when the projection has
// not seen the customer (follower lagging, disabled or failing), by asking
// the customer service as the caller. Unknown is never unassigned: if
// neither can say, the answer is an error, not a yes.
func (s *Service) canSeeCustomer(ctx context.Context, a auth.Access, customerID string) (bool, error) {
	if a.Scope() == "" {
		return true, nil
	}
	manager, known, err := s.store.CustomerManager(ctx, customerID)
	if err != nil {
		return false, err
	}
	if known {
		return a.CanSee(manager), nil
	}
	_, err = s.customers.Lookup(ctx, customerID)
	if errs.Is(err, errs.KindNotFound) {
		return false, nil
	}
	return err == nil, err
}

// listScope is the scope of a list: an agent listing one customer they may
// see gets all of its records; otherwise the store limits rows to the
// agent's (see ListQuery.Scope).
func (s *Service) listScope(ctx context.Context, a auth.Access, customerID string) (string, error) {
	if a.Scope() == "" || customerID == "" {
		return a.Scope(), nil
	}
	ok, err := s.canSeeCustomer(ctx, a, customerID)
	if err != nil || ok {
		return "", err
	}
	return a.Scope(), nil
}

// hiddenFilters are the filter fields over data viewInteraction hides from
// masked callers; filtering on them would recover it. (Summaries and
// messages are not filterable at all.)
var hiddenFilters = []string{"order_reference"}

// hiddenFrom returns the filter fields the caller may not name.
func hiddenFrom(a auth.Access) []string {
	if a.Masked() {
		return hiddenFilters
	}
	return nil
}

func viewInteraction(a auth.Access, i *Interaction) *Interaction {
	if !a.Masked() {
		return i
	}
	c := *i
	c.Summary, c.OrderReference = "", ""
	return &c
}

func viewFollowUp(a auth.Access, f *FollowUp) *FollowUp {
	if !a.Masked() {
		return f
	}
	c := *f
	c.Message, c.CancelReason = "", ""
	return &c
}
