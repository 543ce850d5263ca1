package service

import (
	"context"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/kehu-crm/kehu/pkg/idempotency/keystore"
	"github.com/kehu-crm/kehu/pkg/outbox"
)

// janitorInterval is how often expired events and request ids are pruned;
// they outlive their retention by at most this much.
const janitorInterval = 10 * time.Minute

// janitor prunes the platform tables every service has (outbox events past
// KEHU_OUTBOX_RETENTION, request ids past KEHU_REQUEST_ID_RETENTION) and
// whatever a service adds with Retain (the audit trail, where it is
// served: ServeAuditTrail).
type janitor struct {
	s      *Service
	tables []retained
	pruned *prometheus.CounterVec
}

// retained is one table the janitor keeps within its retention.
type retained struct {
	table     string
	retention time.Duration
	prune     func(ctx context.Context, cutoff time.Time) (int64, error)
}

func newJanitor(s *Service) *janitor {
	j := &janitor{s: s, pruned: prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "kehu_pruned_rows_total", Help: "Rows pruned past their retention, by table.",
	}, []string{"table"})}
	s.Registry.MustRegister(j.pruned)
	j.tables = []retained{
		{"outbox", s.cfg.OutboxRetention, func(ctx context.Context, cutoff time.Time) (int64, error) {
			return outbox.Prune(ctx, s.Pool, cutoff)
		}},
		{"idempotency_keys", s.cfg.RequestIDRetention, func(ctx context.Context, cutoff time.Time) (int64, error) {
			return keystore.Prune(ctx, s.Pool, cutoff)
		}},
	}
	return j
}

// Retain has the janitor delete rows of a service's own table once they
// are older than retention (0 keeps them forever): prune deletes those
// older than cutoff and says how many. Call it before Serve.
func (s *Service) Retain(table string, retention time.Duration, prune func(ctx context.Context, cutoff time.Time) (int64, error)) {
	s.janitor.tables = append(s.janitor.tables, retained{table, retention, prune})
}

// Run prunes now and then every janitorInterval until ctx is done.
func (j *janitor) Run(ctx context.Context) {
	ticker := time.NewTicker(janitorInterval)
	defer ticker.Stop()
	for {
		j.prune(ctx, time.Now())
		select {
		case <-ctx.Done():
			return
		case <-ticker.C:
		}
	}
}

func (j *janitor) prune(ctx context.Context, now time.Time) {
	for _, p := range j.tables {
		if p.retention <= 0 {
			continue // kept forever
		}
		n, err := p.prune(ctx, now.Add(-p.retention))
		j.pruned.WithLabelValues(p.table).Add(float64(n))
		if err != nil && ctx.Err() == nil {
			j.s.Logger.Warn("pruning failed; retrying at the next run", "table", p.table, "error", err)
		}
	}
}
