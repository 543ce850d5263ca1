package insight

import (
	"context"
	"regexp"
	"slices"
	"strings"
	"time"

	"github.com/kehu-crm/kehu/pkg/auth"
	"github.com/kehu-crm/kehu/pkg/errs"
	"github.com/kehu-crm/kehu/pkg/followup"
)

// Config tunes the scoring and encodes reports' results.
type Config struct {
	// Currency is the scoring currency of RFM monetary and ABC.
	Currency string
	// ShareA and ShareB are the ABC thresholds (0.80 and 0.95).
	ShareA, ShareB float64
	// Reports encodes a report's result for keeping and publishing.
	Reports ReportCodec
}

// Service implements the analytics use cases.
type Service struct {
	store     Store
	cache     Cache
	stages    Stages
	visits    followup.Planner
	cfg       Config
	lifecycle Lifecycle
	now       func() time.Time
}

// New returns a Service. now may be nil (wall clock).
func New(store Store, cache Cache, stages Stages, visits followup.Planner, cfg Config, lifecycle Lifecycle, now func() time.Time) *Service {
	if now == nil {
		now = time.Now
	}
	return &Service{store: store, cache: cache, stages: stages, visits: visits, cfg: cfg, lifecycle: lifecycle,
		now: func() time.Time { return now().UTC().Truncate(time.Microsecond) }}
}

var uuidPattern = regexp.MustCompile(`^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$`)

// Insights are the facts, scores and classes of one customer.
type Insights struct {
	Facts        *Facts
	Scores       Scores
	RFMLabel     string
	ValueTier    Class
	ValueLevel   string
	Satisfaction Class
	Behaviour    Class
	Trend        Class
	ChurnScore   int
	ChurnReasons []string
}

// GetCustomerInsights returns everything known about one customer, each
// class with its reasons. Agents see their own customers (and the pool);
// others look absent.
func (s *Service) GetCustomerInsights(ctx context.Context, name string) (*Insights, error) {
	a, err := auth.AccessFrom(ctx)
	if err != nil {
		return nil, err
	}
	id, ok := strings.CutPrefix(name, "customers/")
	if !ok || !uuidPattern.MatchString(id) {
		return nil, errs.InvalidField("customer", "must be a name like \"customers/{id}\", got %q", name)
	}
	now := s.now()
	f, err := s.store.Facts(ctx, id, now)
	if errs.Is(err, errs.KindNotFound) || err == nil && (f.Customer.Deleted || !a.CanSee(f.Customer.AccountManager)) {
		return nil, errs.NotFound(name)
	}
	if err != nil {
		return nil, err
	}
	sc, err := s.store.Scores(ctx, id)
	if err != nil {
		return nil, err
	}
	last, previous, err := s.store.Trend(ctx, id, s.cfg.Currency, now)
	if err != nil {
		return nil, err
	}
	tier := valueTier(sc, s.cfg.Currency, s.cfg.ShareA, s.cfg.ShareB)
	tr := trend(last, previous, s.cfg.Currency)
	risk, reasons := s.lifecycle.churnRisk(f, tr)
	return &Insights{
		Facts: f, Scores: sc, RFMLabel: RFMLabel(sc.Recency, sc.Frequency),
		ValueTier: tier, ValueLevel: valueLevel(tier.Value),
		Satisfaction: satisfaction(f), Behaviour: behaviour(f), Trend: tr,
		ChurnScore: risk, ChurnReasons: reasons,
	}, nil
}

// RecomputeAll rescores every customer, then re-evaluates every segment
// (scores and the passing of time move customers between them), and
// reports how long it took.
func (s *Service) RecomputeAll(ctx context.Context) (int64, time.Duration, error) {
	start := time.Now()
	params := ScoringParams{Now: s.now(), Currency: s.cfg.Currency, ShareA: s.cfg.ShareA, ShareB: s.cfg.ShareB}
	n, err := s.store.Recompute(ctx, params)
	if err == nil {
		_, err = s.EvaluateAll(ctx)
	}
	if err == nil {
		err = s.store.RecordSegmentSizes(ctx)
	}
	if err == nil {
		_, err = s.store.ProposeTiers(ctx, params)
	}
	return n, time.Since(start), err
}

// EvaluateAll re-evaluates every segment with set-based SQL, publishes
// the membership changes and returns how many there were. Memory stays
// bounded whatever their number: the changes are published a page at a
// time, and once more customers changed than invalidateEach keeps, every
// cached answer is dropped rather than each changed one.
func (s *Service) EvaluateAll(ctx context.Context) (int64, error) {
	var changed *changedCustomers
	var n int64
	err := s.store.InTx(ctx, func(ctx context.Context, tx Tx) error {
		changed = &changedCustomers{}
		var err error
		n, err = evaluateAll(ctx, tx, changed.add)
		return err
	})
	if err != nil {
		return 0, err
	}
	if changed.everyone {
		return n, s.invalidateEveryone(ctx)
	}
	s.cache.Invalidate(ctx, changed.ids()...)
	return n, nil
}

// evaluateAll re-evaluates every segment in tx, alone, and publishes the
// changes a page at a time, each page shown to seen first.
func evaluateAll(ctx context.Context, tx Tx, seen func([]Change)) (int64, error) {
	if err := tx.LockEvaluation(ctx); err != nil {
		return 0, err
	}
	var n int64
	err := tx.EvaluateAllSegments(ctx, changePage, func(page []Change) error {
		n += int64(len(page))
		seen(page)
		return emitChanges(ctx, tx, page)
	})
	return n, err
}

// Cursor returns the last event of source applied.
func (s *Service) Cursor(ctx context.Context, source string) (int64, error) {
	return s.store.Cursor(ctx, source)
}

// Apply applies events of source to the read model, each exactly once:
// the cursor moves to the last in the same transaction, and an event at or
// below it (redelivered after a reconnect) changes nothing.
//
// The affected customer's segment memberships are re-evaluated in the same
// transaction, and their cache entry dropped once it committed: no lookup
// answers from before a committed change (beyond the in-flight ones).
//
// The customers of a batch are re-evaluated once, after all its events:
// their memberships end as if evaluated after each event, and the
// membership events report the batch's net change. The dashboards'
// rollups move by the batch's net change to what its customers
// contribute, in the same transaction.
func (s *Service) Apply(ctx context.Context, source string, events ...Event) error {
	var touched []string
	err := s.store.InTx(ctx, func(ctx context.Context, tx Tx) error {
		touched = nil
		cur, err := tx.Cursor(ctx, source)
		if err != nil {
			return err
		}
		var todo []Event
		var ids []string
		for _, e := range events {
			if e.Sequence > cur {
				todo = append(todo, e)
				for _, id := range e.customers() {
					if !slices.Contains(ids, id) {
						ids = append(ids, id)
					}
				}
			}
		}
		if len(todo) == 0 {
			return nil
		}
		if err := tx.LockCustomers(ctx, ids); err != nil {
			return err
		}
		// A record may move to another customer (an update after a merge
		// the customer stream has yet to deliver): its owner until now
		// changes too.
		var records []string
		rollups := false
		for _, e := range todo {
			if e.Record != nil {
				records = append(records, e.Record.ID)
			}
			rollups = rollups || e.rolledUp()
		}
		var rolled []string
		if rollups {
			if rolled, err = tx.RollupsBefore(ctx, ids, records); err != nil {
				return err
			}
		}
		if err := s.applyAll(ctx, tx, todo); err != nil {
			return err
		}
		changes, err := tx.EvaluateCustomers(ctx, ids)
		if err != nil {
			return err
		}
		if err := emitChanges(ctx, tx, changes); err != nil {
			return err
		}
		// Last, so that the rollup rows other batches share stay locked
		// only until the commit.
		if rollups {
			if err := tx.RollupsAfter(ctx, rolled); err != nil {
				return err
			}
		}
		touched = ids
		return tx.SetCursor(ctx, source, todo[len(todo)-1].Sequence)
	})
	if err != nil {
		return err
	}
	s.cache.Invalidate(ctx, touched...)
	return s.proposeStages(ctx, touched)
}

// rolledUp reports whether an event may change what the dashboards'
// rollups read: customers, records, stage changes (not tickets, answers
// or follow-ups).
func (e Event) rolledUp() bool {
	switch e.Type {
	case EventCustomerPurged, EventCustomerMerged, EventCustomerUnmerged:
		return true
	}
	return e.Customer != nil || e.Record != nil || e.Stage != ""
}

// customers are the customers an event changes.
func (e Event) customers() []string {
	var ids []string
	add := func(id string) {
		if id != "" && !slices.Contains(ids, id) {
			ids = append(ids, id)
		}
	}
	add(e.CustomerID)
	add(e.SurvivorID)
	add(e.RestoredID)
	for _, id := range e.MergedIDs {
		add(id)
	}
	if e.Customer != nil {
		add(e.Customer.ID)
	}
	if e.Record != nil {
		add(e.Record.CustomerID)
	}
	if e.Ticket != nil {
		add(e.Ticket.CustomerID)
	}
	if e.Answer != nil {
		add(e.Answer.CustomerID)
	}
	// A follow-up changes no fact a segment reads: its customer needs no
	// re-evaluation.
	return ids
}

// applyAll applies events in order. Customers' snapshots, the bulk of a
// busy stream, are written together (and their first stages recorded), up
// to the next event that does more, whose effects must follow them.
func (s *Service) applyAll(ctx context.Context, tx Tx, events []Event) error {
	var customers []*Customer
	var entered []Transition
	flush := func() error {
		if len(entered) > 0 {
			if err := tx.RecordTransitions(ctx, entered); err != nil {
				return err
			}
		}
		if len(customers) > 0 {
			if err := tx.UpsertCustomers(ctx, customers); err != nil {
				return err
			}
		}
		customers, entered = customers[:0], entered[:0]
		return nil
	}
	for _, e := range events {
		if e.snapshotOnly() {
			if t, ok := e.firstStage(); ok {
				entered = append(entered, t)
			}
			customers = append(customers, e.Customer)
			continue
		}
		if err := flush(); err != nil {
			return err
		}
		if err := s.apply(ctx, tx, e); err != nil {
			return err
		}
	}
	return flush()
}

// firstStage is the stage a customer's creation enters, for the funnel.
func (e Event) firstStage() (Transition, bool) {
	if e.Type != EventCustomerCreated || e.Customer == nil || e.Customer.Stage == "" || e.Customer.Since.IsZero() {
		return Transition{}, false
	}
	return Transition{CustomerID: e.Customer.ID, Stage: e.Customer.Stage, At: e.Customer.Since}, true
}

// snapshotOnly reports whether an event only carries a customer's state.
func (e Event) snapshotOnly() bool {
	switch e.Type {
	case EventCustomerPurged, EventCustomerMerged, EventCustomerUnmerged:
		return false
	}
	return e.Customer != nil && (e.Stage == "" || e.CustomerID == "")
}

func (s *Service) apply(ctx context.Context, tx Tx, e Event) error {
	switch {
	case e.Type == EventCustomerPurged:
		return tx.EraseCustomer(ctx, e.CustomerID)
	case e.Type == EventCustomerMerged && e.SurvivorID != "":
		if err := tx.MergeCustomers(ctx, e.SurvivorID, e.MergedIDs); err != nil {
			return err
		}
	case e.Type == EventCustomerUnmerged && e.SurvivorID != "" && e.RestoredID != "":
		if err := tx.UnmergeCustomer(ctx, e.SurvivorID, e.RestoredID); err != nil {
			return err
		}
	}
	if e.Stage != "" && e.CustomerID != "" {
		manual := e.Actor != "" && e.Actor != s.lifecycle.Subject
		if err := tx.SetStage(ctx, e.CustomerID, e.Stage, manual, s.now()); err != nil {
			return err
		}
		if !e.StageTime.IsZero() {
			if err := tx.RecordTransitions(ctx, []Transition{{CustomerID: e.CustomerID, Stage: e.Stage, At: e.StageTime}}); err != nil {
				return err
			}
		}
	}
	if t, ok := e.firstStage(); ok {
		if err := tx.RecordTransitions(ctx, []Transition{t}); err != nil {
			return err
		}
	}
	switch {
	case e.Customer != nil:
		return tx.UpsertCustomers(ctx, []*Customer{e.Customer})
	case e.Record != nil:
		return tx.UpsertRecord(ctx, e.Record)
	case e.Ticket != nil:
		return tx.UpsertTicket(ctx, e.Ticket)
	case e.Answer != nil:
		return tx.UpsertAnswer(ctx, e.Answer)
	case e.FollowUp != nil:
		return tx.UpsertFollowUp(ctx, e.FollowUp)
	}
	return nil
}

// Currency is the scoring currency.
func (s *Service) Currency() string { return s.cfg.Currency }
