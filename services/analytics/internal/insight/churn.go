package insight

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/kehu-crm/kehu/pkg/auth"
	"github.com/kehu-crm/kehu/pkg/errs"
	"github.com/kehu-crm/kehu/pkg/event"
	"github.com/kehu-crm/kehu/pkg/followup"
	"github.com/kehu-crm/kehu/pkg/pagetoken"
)

// EventChurnWarning is raised when a customer's churn risk crosses the
// threshold (once per crossing; subject: the customer).
const EventChurnWarning = "churn.warning"

// Churn is a customer's churn risk: a 0-100 score and the reasons that
// produced it, with the 12-month spend in the scoring currency at stake.
type Churn struct {
	CustomerID     string
	Score          int
	Reasons        []string
	ValueAtRisk    string
	AccountManager string
}

// churnRisk scores how likely a customer is to leave, from silence
// against their own rhythm, complaints, low satisfaction and falling
// spend. Customers who never bought carry no risk.
func (l Lifecycle) churnRisk(f *Facts, trend Class) (int, []string) {
	if f.LastPurchase == nil {
		return 0, nil
	}
	score := 0
	var reasons []string
	silence := f.Now.Sub(*f.LastPurchase)
	if usual := f.AverageInterval; usual > 0 {
		if ratio := float64(silence) / float64(usual); ratio > 1 {
			score += min(50, int(25*(ratio-1)))
			reasons = append(reasons, fmt.Sprintf("no purchase for %.1f× the usual interval", ratio))
		}
	} else if silence > l.AtRiskAfter/2 {
		score += min(50, int(50*float64(silence)/float64(l.ChurnAfter)))
		reasons = append(reasons, fmt.Sprintf("one purchase, %.0f days ago", float64(silence)/float64(day)))
	}
	if f.Complaints90d > 0 {
		score += min(30, 15*int(f.Complaints90d))
		reasons = append(reasons, fmt.Sprintf("%d complaints in 90 days", f.Complaints90d))
	}
	if f.CSATAnswers > 0 && f.AverageCSAT <= 2.5 {
		score += 20
		reasons = append(reasons, fmt.Sprintf("CSAT fell to %.1f", f.AverageCSAT))
	}
	if f.LastNPS >= 0 && f.LastNPS <= 6 {
		score += 10
		reasons = append(reasons, fmt.Sprintf("last NPS %d (detractor)", f.LastNPS))
	}
	if trend.Value == "FALLING" {
		score += 10
		reasons = append(reasons, "spend falling: "+trend.Reasons[0])
	}
	return min(score, 100), reasons
}

// churnOf is a customer's churn risk from their facts and spend.
func (s *Service) churnOf(f *Facts, spend Spend) Churn {
	score, reasons := s.lifecycle.churnRisk(f, trend(spend.Last, spend.Previous, s.cfg.Currency))
	c := Churn{CustomerID: f.Customer.ID, Score: score, Reasons: reasons, AccountManager: f.Customer.AccountManager, ValueAtRisk: orZero("")}
	for _, p := range f.Purchases {
		if p.Currency == s.cfg.Currency {
			c.ValueAtRisk = p.Amount12m
		}
	}
	return c
}

// recordChurn stores the customers' churn risks in one transaction, in
// customer order (so that two passes over overlapping customers lock
// them in the same order); a customer crossing the threshold gets a
// churn warning and, in tier A, a retention visit.
func (s *Service) recordChurn(ctx context.Context, churn []Churn, scores map[string]Scores, now time.Time) error {
	if len(churn) == 0 {
		return nil
	}
	slices.SortFunc(churn, func(a, b Churn) int { return strings.Compare(a.CustomerID, b.CustomerID) })
	return s.store.InTx(ctx, func(ctx context.Context, tx Tx) error {
		over := make([]bool, len(churn))
		for i, c := range churn {
			over[i] = c.Score >= s.lifecycle.ChurnThreshold
		}
		crossed, err := tx.SetChurns(ctx, churn, over, now)
		if err != nil {
			return err
		}
		for i, c := range churn {
			if !crossed[i] {
				continue
			}
			if scores[c.CustomerID].ABC == "A" {
				// A high-value customer drifting away gets a visit from
				// their account manager, planned by the lifecycle pass.
				purpose := fmt.Sprintf("Retention visit (挽留): churn risk %d", c.Score)
				if err := tx.OweRetentionVisit(ctx, RetentionVisit{CustomerID: c.CustomerID, Crossing: now, Assignee: c.AccountManager, Purpose: purpose}); err != nil {
					return err
				}
			}
			if err := tx.Emit(ctx, event.Event{Type: EventChurnWarning, Subject: CustomerName(c.CustomerID), Actor: "kehu-analytics", Data: c}); err != nil {
				return err
			}
		}
		return nil
	})
}

// RetentionVisit is a visit owed to a tier-A customer who crossed the
// churn threshold at Crossing.
type RetentionVisit struct {
	CustomerID string
	Crossing   time.Time
	Assignee   string
	Purpose    string
}

// retentionDelay is how soon after the warning the visit is due.
const retentionDelay = 24 * time.Hour

// deliverRetentionVisits plans the owed retention visits in the
// interaction service, idempotently (the request id comes from the
// crossing), and forgets each once planned.
func (s *Service) deliverRetentionVisits(ctx context.Context) (int, error) {
	owed, err := s.store.RetentionVisits(ctx, lifecycleBatch)
	if err != nil {
		return 0, err
	}
	planned := 0
	for _, v := range owed {
		err := s.visits.Plan(ctx, followup.Visit{
			CustomerID: v.CustomerID, Assignee: v.Assignee, Purpose: v.Purpose,
			Message: "Churn warning from analytics; see the customer's insights", Due: v.Crossing.Add(retentionDelay),
			RequestID: fmt.Sprintf("retention-%s-%d", v.CustomerID, v.Crossing.UnixMilli()),
		})
		switch {
		case err == nil:
			planned++
		case errs.Is(err, errs.KindNotFound):
		default:
			return planned, err
		}
		if err := s.store.ForgetRetentionVisit(ctx, v); err != nil {
			return planned, err
		}
	}
	return planned, nil
}

// ListAtRiskCustomers lists the customers over the churn threshold, most
// value at risk first; for one account manager, or all ("" or "-").
// Agents list their own.
func (s *Service) ListAtRiskCustomers(ctx context.Context, manager string, pageSize int32, pageToken string) ([]Churn, string, error) {
	a, err := auth.AccessFrom(ctx)
	if err != nil {
		return nil, "", err
	}
	if manager == "-" {
		manager = ""
	}
	if a.Scope() != "" {
		if manager != "" && manager != a.Subject {
			return nil, "", errs.PermissionDenied("agents list their own at-risk customers")
		}
		manager = a.Subject
	}
	size, err := pagetoken.Size(pageSize, 50, 1000)
	if err != nil {
		return nil, "", err
	}
	query := "atrisk\x00" + manager
	var after Cursor
	if pageToken != "" {
		if err := pagetoken.Decode(pageToken, query, &after); err != nil {
			return nil, "", err
		}
	}
	rows, err := s.store.AtRisk(ctx, manager, after, size+1)
	if err != nil {
		return nil, "", err
	}
	next := ""
	if len(rows) > size {
		rows = rows[:size]
		last := rows[size-1]
		next = pagetoken.Encode(query, Cursor{Key: last.ValueAtRisk, ID: last.CustomerID})
	}
	return rows, next, nil
}

// Cursor is a keyset position.
type Cursor struct {
	Key string `json:"k,omitempty"`
	ID  string `json:"i,omitempty"`
}
