package insight

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"golang.org/x/sync/errgroup"

	"github.com/kehu-crm/kehu/pkg/errs"
)

// TierProposal is a value tier analytics wants the customer service to
// record: the scoring pass proposes, the lifecycle pass delivers.
type TierProposal struct {
	CustomerID, Tier, Reason string
	Time                     time.Time
}

// deliverTiers writes proposed value tiers to the customer service as the
// analytics service. The customer record has no reason for a tier, so the
// reason is logged here and stays in the insights (the ABC class).
//
// All pending proposals go out in one pass, batch by batch: a first
// scoring of an imported base proposes a tier for most of it.
func (s *Service) deliverTiers(ctx context.Context) error {
	for {
		proposals, err := s.store.TierProposals(ctx, lifecycleBatch)
		if err != nil {
			return err
		}
		if err := s.deliverTierBatch(ctx, proposals); err != nil {
			return err
		}
		if len(proposals) < lifecycleBatch {
			return nil
		}
	}
}

// tierWriters is how many value tiers are written back at once: each is
// a call and a transaction of the customer service, and one at a time a
// batch waits on every round trip (eight at once took a third off the
// write-back of a first scoring in make bench; the rest is the customer
// service's own work and its followers').
const tierWriters = 8

func (s *Service) deliverTierBatch(ctx context.Context, proposals []TierProposal) error {
	g, ctx := errgroup.WithContext(ctx)
	g.SetLimit(tierWriters)
	for _, p := range proposals {
		g.Go(func() error { return s.deliverTier(ctx, p) })
	}
	return g.Wait()
}

// deliverTier writes one proposal back and withdraws it, also when the
// customer is gone or merged (nothing left to do).
func (s *Service) deliverTier(ctx context.Context, p TierProposal) error {
	requestID := fmt.Sprintf("tier-%s-%s-%d", p.CustomerID, p.Tier, p.Time.UnixMilli())
	err := s.stages.SetValueTier(ctx, p.CustomerID, p.Tier, requestID)
	switch {
	case err == nil:
		slog.InfoContext(ctx, "value tier written back", "customer", CustomerName(p.CustomerID), "tier", p.Tier, "reason", p.Reason)
	case errs.Is(err, errs.KindNotFound), errs.Is(err, errs.KindFailedPrecondition): // gone or merged
	default:
		return errors.Join(fmt.Errorf("setting %s to tier %s", CustomerName(p.CustomerID), p.Tier), err)
	}
	return s.store.WithdrawTier(ctx, p)
}
