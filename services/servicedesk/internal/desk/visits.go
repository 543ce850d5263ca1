package desk

import (
	"context"
	"fmt"
	"time"

	"github.com/kehu-crm/kehu/pkg/errs"
)

// Visit is a follow-up visit (回访) owed to a customer whose complaint was
// resolved.
type Visit struct {
	TicketID   string
	CustomerID string
	// Fallback is the assignee when the customer has no account manager:
	// the agent who resolved the complaint.
	Fallback string
	Purpose  string
	Due      time.Time
}

// Visits plans follow-up visits in the interaction service.
type Visits interface {
	// Plan creates the follow-up visit for v assigned to assignee,
	// idempotently: the same ticket's visit is planned once however often
	// it is asked.
	Plan(ctx context.Context, v Visit, assignee string) error
}

// owedVisit is the visit owed for a resolved complaint.
func (s *Service) owedVisit(t *Ticket, now time.Time) Visit {
	return Visit{
		TicketID: t.ID, CustomerID: t.CustomerID, Fallback: t.Assignee,
		Purpose: fmt.Sprintf("Complaint follow-up (回访): %s", t.Subject),
		Due:     now.Add(s.cfg.VisitDelay),
	}
}

// visitBatch bounds one pass of visit delivery.
const visitBatch = 100

// DeliverVisits plans the owed follow-up visits in the interaction
// service, for the customer's account manager (as the customer service
// tells the service desk now), and forgets each once planned. A visit
// whose customer is gone is dropped; one the interaction service cannot
// take now stays for the next pass.
func (s *Service) DeliverVisits(ctx context.Context) (int, error) {
	owed, err := s.store.OwedVisits(ctx, visitBatch)
	if err != nil {
		return 0, err
	}
	planned := 0
	for _, v := range owed {
		c, err := s.customers.Lookup(ctx, v.CustomerID)
		switch {
		case errs.Is(err, errs.KindNotFound):
			// Purged since: nobody to visit.
		case err != nil:
			return planned, err
		default:
			assignee := c.AccountManager
			if assignee == "" {
				assignee = v.Fallback
			}
			v.CustomerID = c.ID
			if err := s.visits.Plan(ctx, v, assignee); err != nil {
				return planned, fmt.Errorf("planning the visit for %s: %w", TicketName(v.TicketID), err)
			}
			planned++
		}
		if err := s.store.InTx(ctx, func(ctx context.Context, tx Tx) error { return tx.ForgetVisit(ctx, v.TicketID) }); err != nil {
			return planned, err
		}
	}
	return planned, nil
}
