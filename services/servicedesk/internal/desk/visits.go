package desk

import (
	"context"
	"fmt"
	"time"

	"github.com/kehu-crm/kehu/pkg/errs"
	"github.com/kehu-crm/kehu/pkg/followup"
)

// Reasons a visit is owed.
const (
	VisitComplaint = "complaint"
	VisitLowScore  = "low-score"
)

// Visit is a follow-up visit (回访) owed to a customer: their complaint was
// resolved, or they rated the service low.
type Visit struct {
	TicketID   string
	Reason     string
	CustomerID string
	// Fallback is the assignee when the customer has no account manager:
	// the ticket's assignee, else whoever opened it.
	Fallback string
	Purpose  string
	Due      time.Time
}

// Visits plans follow-up visits in the interaction service.
type Visits = followup.Planner

// owedVisit is the visit owed for t, for reason.
func (s *Service) owedVisit(t *Ticket, reason string, now time.Time) Visit {
	purpose := fmt.Sprintf("Complaint follow-up (回访): %s", t.Subject)
	if reason == VisitLowScore {
		purpose = fmt.Sprintf("Low satisfaction follow-up (回访): %s", t.Subject)
	}
	fallback := t.Assignee
	if fallback == "" {
		fallback = t.Creator
	}
	return Visit{
		TicketID: t.ID, Reason: reason, CustomerID: t.CustomerID, Fallback: fallback,
		Purpose: purpose, Due: now.Add(s.cfg.VisitDelay),
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
			// The request id comes from the ticket and reason: a retry (this
			// pass failed after the call, or another replica delivers the
			// same visit) plans nothing new.
			err := s.visits.Plan(ctx, followup.Visit{
				CustomerID: c.ID, Assignee: assignee, Purpose: v.Purpose, Message: "See " + TicketName(v.TicketID),
				Due: v.Due, RequestID: v.Reason + "-visit-" + v.TicketID,
			})
			if err != nil {
				return planned, fmt.Errorf("planning the visit for %s: %w", TicketName(v.TicketID), err)
			}
			planned++
		}
		if err := s.store.InTx(ctx, func(ctx context.Context, tx Tx) error { return tx.ForgetVisit(ctx, v) }); err != nil {
			return planned, err
		}
	}
	return planned, nil
}
