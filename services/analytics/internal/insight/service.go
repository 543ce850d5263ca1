package insight

import (
	"context"
	"regexp"
	"strings"
	"time"

	"github.com/kehu-crm/kehu/pkg/auth"
	"github.com/kehu-crm/kehu/pkg/errs"
)

// Config tunes the scoring.
type Config struct {
	// Currency is the scoring currency of RFM monetary and ABC.
	Currency string
	// ShareA and ShareB are the ABC thresholds (0.80 and 0.95).
	ShareA, ShareB float64
}

// Service implements the analytics use cases.
type Service struct {
	store Store
	cfg   Config
	now   func() time.Time
}

// New returns a Service. now may be nil (wall clock).
func New(store Store, cfg Config, now func() time.Time) *Service {
	if now == nil {
		now = time.Now
	}
	return &Service{store: store, cfg: cfg, now: func() time.Time { return now().UTC().Truncate(time.Microsecond) }}
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
	return &Insights{
		Facts: f, Scores: sc, RFMLabel: RFMLabel(sc.Recency, sc.Frequency),
		ValueTier: tier, ValueLevel: valueLevel(tier.Value),
		Satisfaction: satisfaction(f), Behaviour: behaviour(f), Trend: trend(last, previous, s.cfg.Currency),
	}, nil
}

// RecomputeAll rescores every customer and reports how long it took.
func (s *Service) RecomputeAll(ctx context.Context) (int64, time.Duration, error) {
	start := time.Now()
	n, err := s.store.Recompute(ctx, ScoringParams{Now: s.now(), Currency: s.cfg.Currency, ShareA: s.cfg.ShareA, ShareB: s.cfg.ShareB})
	return n, time.Since(start), err
}

// Cursor returns the last event of source applied.
func (s *Service) Cursor(ctx context.Context, source string) (int64, error) {
	return s.store.Cursor(ctx, source)
}

// Apply applies one event of source to the read model, exactly once: the
// cursor moves in the same transaction, and an event at or below it
// (redelivered after a reconnect) changes nothing.
func (s *Service) Apply(ctx context.Context, source string, e Event) error {
	return s.store.InTx(ctx, func(ctx context.Context, tx Tx) error {
		cur, err := tx.Cursor(ctx, source)
		if err != nil {
			return err
		}
		if e.Sequence <= cur {
			return nil
		}
		if err := apply(ctx, tx, e); err != nil {
			return err
		}
		return tx.SetCursor(ctx, source, e.Sequence)
	})
}

func apply(ctx context.Context, tx Tx, e Event) error {
	switch {
	case e.Type == EventCustomerPurged:
		return tx.EraseCustomer(ctx, e.CustomerID)
	case e.Type == EventCustomerMerged && e.SurvivorID != "":
		if err := tx.MergeCustomers(ctx, e.SurvivorID, e.MergedIDs); err != nil {
			return err
		}
	}
	if e.Stage != "" && e.CustomerID != "" {
		if err := tx.SetStage(ctx, e.CustomerID, e.Stage); err != nil {
			return err
		}
	}
	switch {
	case e.Customer != nil:
		return tx.UpsertCustomer(ctx, e.Customer)
	case e.Record != nil:
		return tx.UpsertRecord(ctx, e.Record)
	case e.Ticket != nil:
		return tx.UpsertTicket(ctx, e.Ticket)
	case e.Answer != nil:
		return tx.UpsertAnswer(ctx, e.Answer)
	}
	return nil
}
