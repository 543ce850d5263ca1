package customer

import (
	"context"
	"fmt"
	"slices"
	"strconv"
	"strings"

	"github.com/kehu-crm/kehu/pkg/auth"
	"github.com/kehu-crm/kehu/pkg/errs"
	"github.com/kehu-crm/kehu/pkg/event"
	"github.com/kehu-crm/kehu/pkg/idempotency"
)

// Tiers are membership thresholds: the minimum points balance of each tier
// above BASIC, ascending.
type Tiers []TierThreshold

// TierThreshold is the minimum balance of a tier.
type TierThreshold struct {
	Tier   Membership
	Points int64
}

// DefaultTiers are used when none are configured.
func DefaultTiers() Tiers {
	return Tiers{{MembershipSilver, 1000}, {MembershipGold, 5000}, {MembershipPlatinum, 20000}}
}

// ParseTiers reads "SILVER=1000,GOLD=5000,PLATINUM=20000".
func ParseTiers(s string) (Tiers, error) {
	var t Tiers
	for _, part := range strings.Split(s, ",") {
		name, val, ok := strings.Cut(strings.TrimSpace(part), "=")
		m := Membership(strings.ToUpper(strings.TrimSpace(name)))
		n, err := strconv.ParseInt(strings.TrimSpace(val), 10, 64)
		if !ok || err != nil || n <= 0 || !slices.Contains([]Membership{MembershipSilver, MembershipGold, MembershipPlatinum}, m) {
			return nil, fmt.Errorf("membership tiers: %q is not TIER=points with TIER one of SILVER, GOLD, PLATINUM", part)
		}
		if len(t) > 0 && n <= t[len(t)-1].Points {
			return nil, fmt.Errorf("membership tiers: thresholds must increase, %q does not", part)
		}
		t = append(t, TierThreshold{m, n})
	}
	return t, nil
}

// For returns the tier of a points balance.
func (t Tiers) For(points int64) Membership {
	tier := MembershipBasic
	for _, th := range t {
		if points >= th.Points {
			tier = th.Tier
		}
	}
	return tier
}

// PointsInput is the input of AdjustPoints.
type PointsInput struct {
	Name      string
	Delta     int64
	Reason    string
	RequestID string
}

// AdjustPoints adds or takes loyalty points. The key is required: a points
// change retried after a timeout must not be applied twice.
func (s *Service) AdjustPoints(ctx context.Context, in PointsInput) (*Customer, *LedgerEntry, error) {
	a, err := auth.AccessFrom(ctx)
	if err != nil {
		return nil, nil, err
	}
	var v errs.Violations
	id, err := ParseName("name", in.Name)
	if err != nil {
		return nil, nil, err
	}
	if in.Delta == 0 {
		v.Add("delta", "must not be zero")
	} else if in.Delta > 1e9 || in.Delta < -1e9 {
		v.Add("delta", "must be within ±1000000000")
	}
	in.Reason = checkReason(in.Reason, "reason", &v)
	if in.RequestID == "" {
		v.Add("request_id", "is required so that a retried adjustment is applied once")
	}
	if err := v.Err(); err != nil {
		return nil, nil, err
	}
	var entry *LedgerEntry
	eid, _, err := idempotency.Run(ctx, s.store.InTx, "AdjustPoints", in.RequestID, in, func(ctx context.Context, tx Tx) (string, error) {
		c, err := s.lockVisible(ctx, tx, a, id)
		if err != nil {
			return "", err
		}
		if c.Deleted() {
			return "", errs.FailedPrecondition("CUSTOMER_DELETED", "%s is deleted", c.Name())
		}
		if c.Points+in.Delta < 0 {
			return "", errs.FailedPrecondition("INSUFFICIENT_POINTS",
				"%s has %d points; cannot take %d", c.Name(), c.Points, -in.Delta).
				WithMetadata("balance", strconv.FormatInt(c.Points, 10))
		}
		entry, err = s.applyPoints(ctx, tx, a, c, in.Delta, in.Reason, in.RequestID)
		if err != nil {
			return "", err
		}
		return entry.ID, nil
	})
	if err != nil {
		return nil, nil, err
	}
	s.cache.Invalidate(ctx, id)
	c, err := s.read(ctx, a, id)
	if err != nil {
		return nil, nil, err
	}
	if entry == nil { // replayed
		if entry, err = s.store.GetLedgerEntry(ctx, eid); err != nil {
			return nil, nil, err
		}
	}
	return c, entry, nil
}

// applyPoints changes c's balance and tier and records the ledger entry and
// event; c must be locked.
func (s *Service) applyPoints(ctx context.Context, tx Tx, a auth.Access, c *Customer, delta int64, reason, requestID string) (*LedgerEntry, error) {
	c.Points += delta
	c.Membership = s.tiers.For(c.Points)
	e := &LedgerEntry{ID: newID(), CustomerID: c.ID, Delta: delta, Balance: c.Points, Reason: reason, Actor: a.Actor(), RequestID: requestID, CreateTime: s.now()}
	if err := s.save(ctx, tx, c); err != nil {
		return nil, err
	}
	if err := tx.InsertLedger(ctx, e); err != nil {
		return nil, err
	}
	return e, tx.Emit(ctx,
		event.Event{Type: EventPointsChanged, Subject: c.Name(), Actor: a.Actor(), Data: PointsData{Entry: e, Membership: c.Membership}},
		event.Event{Type: EventUpdated, Subject: c.Name(), Actor: a.Actor(), Data: c})
}
