package interaction

import (
	"context"
	"fmt"
	"time"
)

// WorkerConfig tunes the background work.
type WorkerConfig struct {
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
			var events []Event
			for _, f := range missed {
				events = append(events, Event{Type: EventFollowUpMissed, Subject: FollowUpName(f.CustomerID, f.ID), Actor: workerActor, Data: f})
				if next := recur(f, now); next != nil {
					if err := tx.InsertFollowUp(ctx, next); err != nil {
						return err
					}
					rep.Rescheduled++
					events = append(events, Event{Type: EventFollowUpCreated, Subject: FollowUpName(next.CustomerID, next.ID), Actor: workerActor, Data: next})
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
				events := make([]Event, len(created))
				for i, f := range created {
					events[i] = Event{Type: EventFollowUpCreated, Subject: FollowUpName(f.CustomerID, f.ID), Actor: workerActor, Data: f}
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
