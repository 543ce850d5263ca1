package service

import (
	"context"
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// Periodic runs pass now and then every interval on exactly one replica
// (the holder of the advisory lock named lock), counting passes by result
// in kehu_<name>_passes_total and timing them. A failed pass is logged and
// retried at the next tick: background work must leave what it did not do
// for the next pass.
func (s *Service) Periodic(lock, name string, interval time.Duration, pass func(ctx context.Context, now time.Time) error) {
	passes := prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "kehu_" + name + "_passes_total", Help: "Passes of the " + name + " background work, by result.",
	}, []string{"result"})
	seconds := prometheus.NewHistogram(prometheus.HistogramOpts{
		Name: "kehu_" + name + "_pass_seconds", Help: "Duration of " + name + " passes.",
	})
	s.Registry.MustRegister(passes, seconds)
	s.GoAsLeader(lock, func(ctx context.Context) {
		ticker := time.NewTicker(interval)
		defer ticker.Stop()
		for {
			start := time.Now()
			err := pass(ctx, start)
			seconds.Observe(time.Since(start).Seconds())
			switch {
			case err == nil:
				passes.WithLabelValues("ok").Inc()
			case ctx.Err() == nil:
				passes.WithLabelValues("error").Inc()
				s.Logger.Error(name+" pass failed", "error", err)
			}
			select {
			case <-ctx.Done():
				return
			case <-ticker.C:
			}
		}
	})
}
