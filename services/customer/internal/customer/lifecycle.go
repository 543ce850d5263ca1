package customer

import (
	"context"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/kehu-crm/kehu/pkg/auth"
	"github.com/kehu-crm/kehu/pkg/errs"
	"github.com/kehu-crm/kehu/pkg/event"
	"github.com/kehu-crm/kehu/pkg/idempotency"
	"github.com/kehu-crm/kehu/pkg/pagetoken"
	"github.com/kehu-crm/kehu/pkg/resource"
)

// TransitionInput is the input of Transition.
type TransitionInput struct {
	Name      string
	Stage     Stage
	Reason    string
	Etag      string
	RequestID string
}

// Transition moves a customer to another lifecycle stage. Any stage may
// follow any other (a churned customer can come back as a prospect), but a
// "transition" to the current stage is refused so history stays meaningful.
func (s *Service) Transition(ctx context.Context, in TransitionInput) (*Customer, *Transition, error) {
	a, err := auth.AccessFrom(ctx)
	if err != nil {
		return nil, nil, err
	}
	var v errs.Violations
	id, err := ParseName("name", in.Name)
	if err != nil {
		return nil, nil, err
	}
	if in.Stage == "" {
		v.Add("stage", "is required")
	}
	in.Reason = checkReason(in.Reason, "reason", &v)
	if err := v.Err(); err != nil {
		return nil, nil, err
	}
	var t *Transition
	tid, _, err := idempotency.Run(ctx, s.store.InTx, "TransitionLifecycleStage", in.RequestID, in, func(ctx context.Context, tx Tx) (string, error) {
		c, err := s.lockVisible(ctx, tx, a, id)
		if err != nil {
			return "", err
		}
		if c.Deleted() {
			return "", errs.FailedPrecondition("CUSTOMER_DELETED", "%s is deleted", c.Name())
		}
		if err := resource.CheckEtag(in.Etag, c.Etag(), c.Name()); err != nil {
			return "", err
		}
		if c.Stage == in.Stage {
			return "", errs.FailedPrecondition("SAME_STAGE", "%s is already in stage %s", c.Name(), in.Stage)
		}
		t = &Transition{ID: newID(), CustomerID: c.ID, From: c.Stage, To: in.Stage, Reason: in.Reason, Actor: a.Actor(), CreateTime: s.now()}
		c.Stage = in.Stage
		if err := s.save(ctx, tx, c); err != nil {
			return "", err
		}
		if err := tx.InsertTransition(ctx, t); err != nil {
			return "", err
		}
		return t.ID, tx.Emit(ctx,
			event.Event{Type: EventStageChanged, Subject: c.Name(), Actor: a.Actor(), Data: t},
			event.Event{Type: EventUpdated, Subject: c.Name(), Actor: a.Actor(), Data: c})
	})
	if err != nil {
		return nil, nil, err
	}
	s.cache.Invalidate(ctx, id)
	c, err := s.read(ctx, a, id)
	if err != nil {
		return nil, nil, err
	}
	if t == nil { // replayed: find the recorded transition
		if t, err = s.store.GetTransition(ctx, tid); err != nil {
			return nil, nil, err
		}
	}
	return c, t, nil
}

// HistoryInput pages through a customer's history.
type HistoryInput struct {
	Parent    string
	PageSize  int32
	PageToken string
}

// ListTransitions lists a customer's lifecycle transitions, newest first.
func (s *Service) ListTransitions(ctx context.Context, in HistoryInput) ([]Transition, string, error) {
	id, after, size, err := s.historyPage(ctx, in, "transitions")
	if err != nil {
		return nil, "", err
	}
	ts, err := s.store.ListTransitions(ctx, id, after, size+1)
	if err != nil {
		return nil, "", err
	}
	var next string
	if len(ts) > size {
		ts = ts[:size]
		last := ts[size-1]
		next = pagetoken.Encode("transitions\x00"+in.Parent, Cursor{Key: last.CreateTime.Format(time.RFC3339Nano), ID: last.ID})
	}
	return ts, next, nil
}

// ListLedger lists a customer's points ledger, newest first.
func (s *Service) ListLedger(ctx context.Context, in HistoryInput) ([]LedgerEntry, string, error) {
	id, after, size, err := s.historyPage(ctx, in, "ledger")
	if err != nil {
		return nil, "", err
	}
	es, err := s.store.ListLedger(ctx, id, after, size+1)
	if err != nil {
		return nil, "", err
	}
	var next string
	if len(es) > size {
		es = es[:size]
		last := es[size-1]
		next = pagetoken.Encode("ledger\x00"+in.Parent, Cursor{Key: last.CreateTime.Format(time.RFC3339Nano), ID: last.ID})
	}
	return es, next, nil
}

// historyPage checks access to the parent customer and decodes paging.
func (s *Service) historyPage(ctx context.Context, in HistoryInput, kind string) (string, Cursor, int, error) {
	a, err := auth.AccessFrom(ctx)
	if err != nil {
		return "", Cursor{}, 0, err
	}
	size, err := pagetoken.Size(in.PageSize, defaultPageSize, maxPageSize)
	if err != nil {
		return "", Cursor{}, 0, err
	}
	c, err := s.load(ctx, a, in.Parent, "parent")
	if err != nil {
		return "", Cursor{}, 0, err
	}
	var after Cursor
	if in.PageToken != "" {
		if err := pagetoken.Decode(in.PageToken, kind+"\x00"+in.Parent, &after); err != nil {
			return "", Cursor{}, 0, err
		}
	}
	return c.ID, after, size, nil
}

// AssignInput is the input of Assign.
type AssignInput struct {
	Name           string
	AccountManager string
	Etag           string
	RequestID      string
}

// Assign sets or clears one customer's account manager.
func (s *Service) Assign(ctx context.Context, in AssignInput) (*Customer, error) {
	a, err := auth.AccessFrom(ctx)
	if err != nil {
		return nil, err
	}
	id, err := ParseName("name", in.Name)
	if err != nil {
		return nil, err
	}
	in.AccountManager = strings.TrimSpace(in.AccountManager)
	if in.AccountManager != "" && !subjectPattern.MatchString(in.AccountManager) {
		return nil, errs.InvalidField("account_manager", "must be a user id of 1 to 128 letters, digits or @._:-")
	}
	if err := a.CheckAssignee(in.AccountManager, "account_manager"); err != nil {
		return nil, err
	}
	_, _, err = idempotency.Run(ctx, s.store.InTx, "AssignAccountManager", in.RequestID, in, func(ctx context.Context, tx Tx) (string, error) {
		c, err := s.lockVisible(ctx, tx, a, id)
		if err != nil {
			return "", err
		}
		if err := resource.CheckEtag(in.Etag, c.Etag(), c.Name()); err != nil {
			return "", err
		}
		if c.AccountManager == in.AccountManager {
			return c.ID, nil
		}
		c.AccountManager = in.AccountManager
		if err := s.save(ctx, tx, c); err != nil {
			return "", err
		}
		return c.ID, tx.Emit(ctx, event.Event{Type: EventManagerAssigned, Subject: c.Name(), Actor: a.Actor(), Data: c})
	})
	if err != nil {
		return nil, err
	}
	s.cache.Invalidate(ctx, id)
	return s.read(ctx, a, id)
}

// BatchAssignInput is the input of BatchAssign.
type BatchAssignInput struct {
	Filter         string
	AccountManager string
	RequestID      string
}

// BatchAssign sets the account manager of every live customer matching a
// filter, in one transaction, and returns how many were assigned.
func (s *Service) BatchAssign(ctx context.Context, in BatchAssignInput) (int64, error) {
	a, err := auth.AccessFrom(ctx)
	if err != nil {
		return 0, err
	}
	if strings.TrimSpace(in.Filter) == "" {
		return 0, errs.InvalidField("filter", "is required; a batch assignment of every customer must say so, e.g. `create_time > \"1970-01-01T00:00:00Z\"`")
	}
	in.AccountManager = strings.TrimSpace(in.AccountManager)
	if in.AccountManager != "" && !subjectPattern.MatchString(in.AccountManager) {
		return 0, errs.InvalidField("account_manager", "must be a user id of 1 to 128 letters, digits or @._:-")
	}
	if err := a.CheckAssignee(in.AccountManager, "account_manager"); err != nil {
		return 0, err
	}
	var ids []string
	count, _, err := idempotency.Run(ctx, s.store.InTx, "BatchAssignAccountManager", in.RequestID, in, func(ctx context.Context, tx Tx) (string, error) {
		if ids, err = tx.AssignWhere(ctx, in.Filter, a.Scope(), in.AccountManager, s.now()); err != nil {
			return "", err
		}
		evs := make([]event.Event, 0, len(ids))
		for _, id := range ids {
			c, err := tx.Lock(ctx, id)
			if err != nil {
				return "", err
			}
			evs = append(evs, event.Event{Type: EventManagerAssigned, Subject: c.Name(), Actor: a.Actor(), Data: c})
		}
		return strconv.Itoa(len(ids)), tx.Emit(ctx, evs...)
	})
	if err != nil {
		return 0, err
	}
	s.cache.Invalidate(ctx, ids...)
	n, _ := strconv.ParseInt(count, 10, 64)
	return n, nil
}

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
