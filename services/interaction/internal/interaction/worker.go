package interaction

import (
	"context"
	"fmt"
	"log/slog"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/kehu-crm/kehu/pkg/event"
)

// WorkerConfig tunes the background work.
type WorkerConfig struct {
	// Interval is the period between passes of Worker.Run.
	Interval time.Duration
	// Grace is how long after its due time a planned follow-up becomes
	// missed.
	Grace time.Duration
	// Location is the calendar that care dates (birthdays, holidays) and
	// greeting times are read in.
	Location *time.Location
	// GreetingHour is the local hour care follow-ups are due on their day.
	GreetingHour int
}

// Report says what one worker pass did.
type Report struct {
	Missed       int
	Rescheduled  int
	CareFollowUp int
}

// Worker runs the background work every Interval and counts what it does.
type Worker struct {
	svc     *Service
	cfg     WorkerConfig
	logger  *slog.Logger
	runs    *prometheus.CounterVec
	missed  prometheus.Counter
	care    prometheus.Counter
	elapsed prometheus.Histogram
}

// NewWorker returns a Worker for svc whose metrics are registered in reg.
func NewWorker(svc *Service, cfg WorkerConfig, logger *slog.Logger, reg prometheus.Registerer) *Worker {
	w := &Worker{
		svc: svc, cfg: cfg, logger: logger,
		runs: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "kehu_interaction_worker_runs_total", Help: "Background worker passes by result.",
		}, []string{"result"}),
		missed: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "kehu_interaction_follow_ups_missed_total", Help: "Follow-ups marked missed by the worker.",
		}),
		care: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "kehu_interaction_care_follow_ups_total", Help: "Care follow-ups generated from care rules.",
		}),
		elapsed: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name: "kehu_interaction_worker_seconds", Help: "Duration of background worker passes.",
		}),
	}
	reg.MustRegister(w.runs, w.missed, w.care, w.elapsed)
	return w
}

// Run does a pass now and then every Interval until ctx is done. A failed
// pass is logged and retried at the next tick: everything it did not do is
// still there to do.
func (w *Worker) Run(ctx context.Context) {
	ticker := time.NewTicker(w.cfg.Interval)
	defer ticker.Stop()
	for {
		if rep, err := w.RunOnce(ctx, time.Now()); err != nil {
			if ctx.Err() == nil {
				w.logger.Error("worker pass failed", "error", err)
			}
		} else if rep.Missed+rep.CareFollowUp > 0 {
			w.logger.Info("worker pass", "missed", rep.Missed, "rescheduled", rep.Rescheduled, "care_follow_ups", rep.CareFollowUp)
		}
		select {
		case <-ctx.Done():
			return
		case <-ticker.C:
		}
	}
}

// RunOnce does one pass as of now and counts it; tests and operators use it.
func (w *Worker) RunOnce(ctx context.Context, now time.Time) (Report, error) {
	start := time.Now()
	rep, err := w.svc.RunWorker(ctx, w.cfg, now)
	w.elapsed.Observe(time.Since(start).Seconds())
	w.missed.Add(float64(rep.Missed))
	w.care.Add(float64(rep.CareFollowUp))
	if err != nil {
		w.runs.WithLabelValues("error").Inc()
		return rep, err
	}
	w.runs.WithLabelValues("ok").Inc()
	return rep, nil
}

// workerActor signs the events of background work.
const workerActor = "kehu-interaction-worker"

// sweepBatch bounds one transaction of the missed sweep.
const sweepBatch = 500

// RunWorker does one pass of background work as of now: marks overdue
// follow-ups missed (planning the next one of recurring ones) and turns
// care rules into follow-ups. Safe to run on several replicas at once:
// rows are claimed with SKIP LOCKED and care occurrences are unique.
func (s *Service) RunWorker(ctx context.Context, cfg WorkerConfig, now time.Time) (Report, error) {
	var rep Report
	for {
		var n int
		err := s.store.InTx(ctx, func(ctx context.Context, tx Tx) error {
			missed, err := tx.SweepMissed(ctx, now.Add(-cfg.Grace), now, sweepBatch)
			if err != nil {
				return err
			}
			n = len(missed)
			var events []event.Event
			for _, f := range missed {
				events = append(events, event.Event{Type: EventFollowUpMissed, Subject: FollowUpName(f.CustomerID, f.ID), Actor: workerActor, Data: f})
				if next := recur(f, now); next != nil {
					if err := tx.InsertFollowUp(ctx, next); err != nil {
						return err
					}
					rep.Rescheduled++
					events = append(events, event.Event{Type: EventFollowUpCreated, Subject: FollowUpName(next.CustomerID, next.ID), Actor: workerActor, Data: next})
				}
			}
			return tx.Emit(ctx, events...)
		})
		if err != nil {
			return rep, fmt.Errorf("sweeping missed follow-ups: %w", err)
		}
		rep.Missed += n
		if n < sweepBatch {
			break
		}
	}

	rules, err := s.store.ActiveCareRules(ctx)
	if err != nil {
		return rep, err
	}
	loc := cfg.Location
	if loc == nil {
		loc = time.UTC
	}
	local := now.In(loc)
	today := time.Date(local.Year(), local.Month(), local.Day(), 0, 0, 0, 0, loc)
	for _, r := range rules {
		// Every occasion from today up to lead_days ahead is due now (or
		// was due earlier: a rule created late, or a worker that was down,
		// still greets customers whose day has not passed).
		to := today.AddDate(0, 0, int(r.LeadDays))
		for {
			var created []*FollowUp
			err := s.store.InTx(ctx, func(ctx context.Context, tx Tx) error {
				var err error
				created, err = tx.GenerateCare(ctx, r, today, to, loc, now, sweepBatch)
				if err != nil {
					return err
				}
				events := make([]event.Event, len(created))
				for i, f := range created {
					events[i] = event.Event{Type: EventFollowUpCreated, Subject: FollowUpName(f.CustomerID, f.ID), Actor: workerActor, Data: f}
				}
				return tx.Emit(ctx, events...)
			})
			if err != nil {
				return rep, fmt.Errorf("care rule %s: %w", r.ID, err)
			}
			rep.CareFollowUp += len(created)
			if len(created) < sweepBatch {
				break
			}
		}
	}
	return rep, nil
}
