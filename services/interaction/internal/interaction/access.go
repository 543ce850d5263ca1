package interaction

import (
	"context"

	"github.com/kehu-crm/kehu/pkg/auth"
)

// canSee applies the agent rule to one record: handled by the agent, or of
// a customer managed by them or by no one.
func (s *Service) canSee(ctx context.Context, a auth.Access, customerID, handler string) (bool, error) {
	if a.Scope() == "" || handler == a.Subject {
		return true, nil
	}
	manager, err := s.store.CustomerManager(ctx, customerID)
	if err != nil {
		return false, err
	}
	return a.CanSee(manager), nil
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
