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

// janitor prunes the platform tables every service has: outbox events past
// KEHU_OUTBOX_RETENTION and request ids past KEHU_REQUEST_ID_RETENTION.
type janitor struct {
	s      *Service
	pruned *prometheus.CounterVec
}

func newJanitor(s *Service) *janitor {
	j := &janitor{s: s, pruned: prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "kehu_pruned_rows_total", Help: "Rows pruned past their retention, by table.",
	}, []string{"table"})}
	s.Registry.MustRegister(j.pruned)
	return j
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
	for _, p := range []struct {
		table     string
		retention time.Duration
		prune     func(context.Context, time.Time) (int64, error)
	}{
		{"outbox", j.s.cfg.OutboxRetention, func(ctx context.Context, cutoff time.Time) (int64, error) {
			return outbox.Prune(ctx, j.s.Pool, cutoff)
		}},
		{"idempotency_keys", j.s.cfg.RequestIDRetention, func(ctx context.Context, cutoff time.Time) (int64, error) {
			return keystore.Prune(ctx, j.s.Pool, cutoff)
		}},
	} {
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
