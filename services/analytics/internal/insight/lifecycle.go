package insight

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/kehu-crm/kehu/pkg/errs"
)

// Lifecycle tunes the automatic lifecycle: PROSPECT → FIRST_PURCHASE →
// REPEAT → LOYAL → AT_RISK → CHURNED, and back to REPEAT on a purchase.
type Lifecycle struct {
	// LoyalPurchases and LoyalTenure make a customer LOYAL (and a
	// satisfaction that is not LOW).
	LoyalPurchases int
	LoyalTenure    time.Duration
	// A customer is AT_RISK after AtRiskFactor × their usual purchase
	// interval without a purchase, or after AtRiskAfter, whichever comes
	// first; CHURNED likewise after ChurnFactor × or ChurnAfter.
	AtRiskFactor, ChurnFactor float64
	AtRiskAfter, ChurnAfter   time.Duration
	// ManualHold is how long a stage a person set stands before the
	// automatic lifecycle may change it again.
	ManualHold time.Duration
	// Subject is the analytics service's own identity: its stage changes
	// are not a person's.
	Subject string
	// ChurnThreshold is the churn risk (0-100) that raises a warning.
	ChurnThreshold int
}

// Stages changes stages in the customer service.
type Stages interface {
	// Transition moves the customer to stage with reason, idempotently
	// under requestID. NOT_FOUND and FAILED_PRECONDITION (gone, already
	// there) mean there is nothing left to do.
	Transition(ctx context.Context, customerID, stage, reason, requestID string) error
	// SetValueTier sets the customer's value tier, idempotently under
	// requestID; NOT_FOUND means there is nothing left to do.
	SetValueTier(ctx context.Context, customerID, tier, requestID string) error
}

// Proposal is a stage change analytics wants the customer service to make.
type Proposal struct {
	CustomerID, Stage, Reason string
	Time                      time.Time
}

const day = 24 * time.Hour

// nextStage is the stage the facts call for and why, or "" to leave the
// stage as it is.
func (l Lifecycle) nextStage(f *Facts) (string, string) {
	c := f.Customer
	if c.ManualStageTime != nil && f.Now.Sub(*c.ManualStageTime) < l.ManualHold {
		return "", ""
	}
	if f.PurchaseCount == 0 || f.LastPurchase == nil {
		return "", ""
	}
	silence := f.Now.Sub(*f.LastPurchase)
	days := float64(silence) / float64(day)
	var target, reason string
	usual := f.AverageInterval
	switch {
	case usual > 0 && float64(silence) > l.ChurnFactor*float64(usual):
		target, reason = "CHURNED", fmt.Sprintf("no purchase for %.1f× the usual interval of %.0f days", float64(silence)/float64(usual), float64(usual)/float64(day))
	case silence > l.ChurnAfter:
		target, reason = "CHURNED", fmt.Sprintf("no purchase for %.0f days", days)
	case usual > 0 && float64(silence) > l.AtRiskFactor*float64(usual):
		target, reason = "AT_RISK", fmt.Sprintf("no purchase for %.1f× the usual interval of %.0f days", float64(silence)/float64(usual), float64(usual)/float64(day))
	case silence > l.AtRiskAfter:
		target, reason = "AT_RISK", fmt.Sprintf("no purchase for %.0f days", days)
	case f.PurchaseCount == 1:
		target, reason = "FIRST_PURCHASE", "first purchase"
	case f.PurchaseCount >= int64(l.LoyalPurchases) && f.FirstPurchase != nil && f.Now.Sub(*f.FirstPurchase) >= l.LoyalTenure &&
		satisfaction(f).Value != "LOW":
		target, reason = "LOYAL", fmt.Sprintf("%d purchases over %.0f days and satisfaction not low", f.PurchaseCount, float64(f.Now.Sub(*f.FirstPurchase))/float64(day))
	default:
		target, reason = "REPEAT", fmt.Sprintf("%d purchases, the last %.0f days ago", f.PurchaseCount, days)
	}
	if target == c.Stage {
		return "", ""
	}
	return target, "analytics: " + reason
}

// proposeStages writes down the stage changes the facts of customers call
// for (or drops a stale proposal).
func (s *Service) proposeStages(ctx context.Context, customerIDs []string) error {
	if len(customerIDs) == 0 {
		return nil
	}
	now := s.now()
	facts, err := s.store.FactsMany(ctx, customerIDs, now)
	if err != nil {
		return err
	}
	var live []string
	for _, id := range customerIDs {
		if f, ok := facts[id]; ok && !f.Customer.Deleted {
			live = append(live, id)
		}
	}
	spend, err := s.store.Trends(ctx, live, s.cfg.Currency, now)
	if err != nil {
		return err
	}
	scores, err := s.store.ScoresMany(ctx, live)
	if err != nil {
		return err
	}
	var proposals []Proposal
	var churn []Churn
	for _, id := range customerIDs {
		f, ok := facts[id]
		if !ok {
			continue
		}
		stage, reason := s.lifecycle.nextStage(f)
		if f.Customer.Deleted {
			stage = ""
		} else {
			churn = append(churn, s.churnOf(f, spend[id]))
		}
		proposals = append(proposals, Proposal{CustomerID: id, Stage: stage, Reason: reason, Time: now})
	}
	if err := s.recordChurn(ctx, churn, scores, now); err != nil {
		return err
	}
	return s.store.ProposeMany(ctx, proposals)
}

// lifecycleBatch bounds one step of the lifecycle pass.
const lifecycleBatch = 500

// RunLifecycle is the lifecycle pass: it re-assesses the customers with
// purchases (silence moves them to AT_RISK and CHURNED and raises their
// churn risk with the passing of time), plans the owed retention visits,
// and delivers the stage proposals to the customer service. It returns how
// many stage changes it delivered.
func (s *Service) RunLifecycle(ctx context.Context) (int, error) {
	after := ""
	for {
		ids, err := s.store.Buyers(ctx, after, lifecycleBatch)
		if err != nil {
			return 0, err
		}
		if err := s.proposeStages(ctx, ids); err != nil {
			return 0, err
		}
		if len(ids) < lifecycleBatch {
			break
		}
		after = ids[len(ids)-1]
	}
	if _, err := s.deliverRetentionVisits(ctx); err != nil {
		return 0, err
	}
	if err := s.deliverTiers(ctx); err != nil {
		return 0, err
	}
	proposals, err := s.store.Proposals(ctx, lifecycleBatch)
	if err != nil {
		return 0, err
	}
	delivered := 0
	for _, p := range proposals {
		requestID := fmt.Sprintf("lifecycle-%s-%s-%d", p.CustomerID, p.Stage, p.Time.UnixMilli())
		err := s.stages.Transition(ctx, p.CustomerID, p.Stage, p.Reason, requestID)
		switch {
		case err == nil:
			delivered++
		case errs.Is(err, errs.KindNotFound), errs.Is(err, errs.KindFailedPrecondition):
		default:
			return delivered, errors.Join(fmt.Errorf("moving %s to %s", CustomerName(p.CustomerID), p.Stage), err)
		}
		if err := s.store.Withdraw(ctx, p); err != nil {
			return delivered, err
		}
	}
	return delivered, nil
}
