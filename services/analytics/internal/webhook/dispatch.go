package webhook

import (
	"context"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"sync"
	"time"

	"github.com/kehu-crm/kehu/pkg/event"
)

// maxConcurrent bounds how many webhooks are sent to at once; each
// webhook's deliveries go one at a time, in order.
const maxConcurrent = 32

// idlePoll is how often the dispatcher looks for due retries when nothing
// wakes it.
const idlePoll = time.Second

// Dispatch delivers queued events until ctx ends. One replica runs it (a
// leader lock): each webhook's queue is sent in order by one goroutine,
// so a slow or failing endpoint holds up only its own webhook.
func (s *Service) Dispatch(ctx context.Context) {
	var (
		mu      sync.Mutex
		running = map[string]bool{}
		wg      sync.WaitGroup
	)
	defer wg.Wait()
	for ctx.Err() == nil {
		due, err := s.store.Due(ctx, s.now(), maxConcurrent)
		if err != nil && ctx.Err() == nil {
			slog.WarnContext(ctx, "webhooks: looking for due deliveries failed", "error", err)
		}
		for _, id := range due {
			mu.Lock()
			busy := running[id] || len(running) >= maxConcurrent
			if !busy {
				running[id] = true
			}
			mu.Unlock()
			if busy {
				continue
			}
			wg.Add(1)
			go func() {
				defer wg.Done()
				s.drain(ctx, id)
				mu.Lock()
				delete(running, id)
				mu.Unlock()
			}()
		}
		select {
		case <-ctx.Done():
		case <-s.wake:
		case <-time.After(idlePoll):
		}
	}
}

// drain sends a webhook's due deliveries in order until its head is not
// due (waiting for a retry), the webhook is off, or its queue is empty.
func (s *Service) drain(ctx context.Context, webhookID string) {
	for ctx.Err() == nil {
		d, w, err := s.store.Head(ctx, webhookID)
		if err != nil {
			if ctx.Err() == nil {
				slog.WarnContext(ctx, "webhooks: reading the queue failed", "webhook", Name(webhookID), "error", err)
			}
			return
		}
		if d == nil || !w.Active || d.NextAttemptTime.After(s.now()) {
			return
		}
		if err := s.attempt(ctx, w, d); err != nil {
			if ctx.Err() == nil {
				slog.WarnContext(ctx, "webhooks: recording an attempt failed", "delivery", DeliveryName(webhookID, d.ID), "error", err)
			}
			return
		}
	}
}

// attempt sends d once and records the outcome: delivered, retried later,
// or failed once the retry period is over (counting against the webhook,
// which is turned off after DisableAfter failures in a row or at once on
// 410 Gone).
func (s *Service) attempt(ctx context.Context, w *Webhook, d *Delivery) error {
	a := s.send(ctx, w, d.EventID, d.Body)
	if ctx.Err() != nil {
		return ctx.Err() // shutting down: the attempt is made again later
	}
	first := a.Time
	if len(d.Attempts) > 0 {
		first = d.Attempts[0].Time
	}
	var result string
	err := s.store.InTx(ctx, func(ctx context.Context, tx Tx) error {
		result = "retry"
		switch {
		case a.delivered():
			result = "delivered"
			d.State, d.CompleteTime = Delivered, &a.Time
		case a.StatusCode == 410, a.Time.Sub(first) >= s.cfg.RetryPeriod:
			result = "failed"
			d.State, d.CompleteTime = Failed, &a.Time
		default:
			d.NextAttemptTime = a.Time.Add(s.backoff(len(d.Attempts) + 1))
		}
		recorded, err := tx.RecordAttempt(ctx, d, a)
		if err != nil || !recorded {
			result = "erased"
			return err
		}
		switch {
		case result == "delivered" && w.ConsecutiveFailures > 0:
			return tx.Success(ctx, w.ID)
		case result == "failed" && a.StatusCode == 410:
			return s.disable(ctx, tx, w.ID, "the target answered 410 Gone")
		case result == "failed":
			n, err := tx.Failure(ctx, w.ID)
			if err != nil || s.cfg.DisableAfter <= 0 || n < s.cfg.DisableAfter {
				return err
			}
			return s.disable(ctx, tx, w.ID, fmt.Sprintf("%d deliveries in a row failed after retrying for %s", n, s.cfg.RetryPeriod))
		}
		return nil
	})
	if err == nil {
		s.attempts.WithLabelValues(result).Inc()
		d.Attempts = append(d.Attempts, a)
	}
	return err
}

// disable turns a webhook off and publishes webhook.disabled.
func (s *Service) disable(ctx context.Context, tx Tx, id, reason string) error {
	w, err := tx.Disable(ctx, id, reason)
	if err != nil {
		return err
	}
	slog.WarnContext(ctx, "webhook turned off", "webhook", Name(id), "reason", reason)
	// The event goes to every subscriber of "*": it names the webhook and
	// says why, but carries neither its target (for some services the URL
	// is the credential) nor its secrets.
	notice := &Webhook{ID: w.ID, DisabledReason: w.DisabledReason, ConsecutiveFailures: w.ConsecutiveFailures,
		Revision: w.Revision, CreateTime: w.CreateTime, UpdateTime: w.UpdateTime}
	return tx.Emit(ctx, event.Event{Type: EventDisabled, Subject: Name(id), Actor: "analytics", Data: Disabled{Webhook: notice}})
}

// backoff is the wait before attempt n+1: exponential from BackoffBase,
// at most BackoffMax, with "equal jitter" (half fixed, half random) so
// that retries of many deliveries spread out.
func (s *Service) backoff(n int) time.Duration {
	d := s.cfg.BackoffMax
	if n < 30 {
		d = min(s.cfg.BackoffBase<<(n-1), s.cfg.BackoffMax)
	}
	return d/2 + rand.N(d/2+1)
}
