package webhook

import (
	"context"
	"regexp"
	"slices"

	"github.com/google/uuid"
)

// Cursor is how far the fan-out has read source's stream.
func (s *Service) Cursor(ctx context.Context, source string) (int64, error) {
	return s.store.Cursor(ctx, "webhooks:"+source)
}

// Apply queues events of source's stream (in sequence order) for every
// webhook that wants them, and moves the stream's cursor, in one
// transaction: an event is queued once, and none is lost if the process
// stops. A customer.purged event erases what the deliveries hold of the
// customer (it is itself delivered, so receivers erase too); an event
// about a customer purged before it was queued (the streams of different
// services arrive independently) is logged as erased, never sent.
func (s *Service) Apply(ctx context.Context, source string, events []Event) error {
	stream := "webhooks:" + source
	err := s.store.InTx(ctx, func(ctx context.Context, tx Tx) error {
		after, err := tx.Cursor(ctx, stream)
		if err != nil {
			return err
		}
		fresh := events[:0:0]
		var purged []string
		for _, e := range events {
			if e.Sequence > after {
				fresh = append(fresh, e)
				if e.PurgedCustomer != "" {
					purged = append(purged, e.PurgedCustomer)
				}
			}
		}
		if len(fresh) == 0 {
			return nil
		}
		if err := tx.MarkErased(ctx, purged); err != nil {
			return err
		}
		hooks, err := tx.ActiveWebhooks(ctx)
		if err != nil {
			return err
		}
		wanted, err := s.wanted(hooks, fresh)
		if err != nil {
			return err
		}
		var mentioned []string
		for _, w := range wanted {
			mentioned = append(mentioned, w.customers...)
		}
		erased, err := tx.Erased(ctx, mentioned)
		if err != nil {
			return err
		}
		if err := tx.Enqueue(ctx, s.deliveries(wanted, erased)); err != nil {
			return err
		}
		for _, id := range purged {
			if err := tx.Erase(ctx, id, s.now()); err != nil {
				return err
			}
		}
		return tx.SetCursor(ctx, stream, fresh[len(fresh)-1].Sequence)
	})
	if err == nil {
		s.notify()
	}
	return err
}

// wantedEvent is an event some webhooks want, with its body and the
// customers it names.
type wantedEvent struct {
	Event
	hooks     []*Webhook
	body      []byte
	customers []string
}

// wanted are the events of the types webhooks name, published since they
// were created, in event order; only their bodies are made.
func (s *Service) wanted(hooks []*Webhook, events []Event) ([]wantedEvent, error) {
	var out []wantedEvent
	for _, e := range events {
		var want []*Webhook
		for _, w := range hooks {
			if w.Matches(e.Type) && !e.Time.Before(w.CreateTime) {
				want = append(want, w)
			}
		}
		if len(want) == 0 {
			continue
		}
		body, err := e.Body()
		if err != nil {
			return nil, err
		}
		out = append(out, wantedEvent{Event: e, hooks: want, body: body, customers: customersIn(body)})
	}
	return out, nil
}

// customerName finds the customers an event is about: every payload names
// them by resource name (its subject, a ticket's customer, a merge's
// survivor and merged records).
var customerName = regexp.MustCompile(`customers/([0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12})`)

func customersIn(body []byte) []string {
	var out []string
	for _, m := range customerName.FindAllSubmatch(body, -1) {
		out = append(out, string(m[1]))
	}
	return slices.Compact(slices.Sorted(slices.Values(out)))
}

// deliveries are one per wanted event and webhook. An event about an
// erased customer is logged erased, without its body (but the purge
// notice itself).
func (s *Service) deliveries(events []wantedEvent, erased []string) []*Delivery {
	now := s.now().UTC()
	var out []*Delivery
	for _, e := range events {
		gone := e.PurgedCustomer == "" && slices.ContainsFunc(e.customers, func(id string) bool { return slices.Contains(erased, id) })
		for _, w := range e.hooks {
			d := &Delivery{ID: uuid.NewString(), WebhookID: w.ID, EventID: e.ID, EventType: e.Type, Source: e.Source,
				Sequence: e.Sequence, Subject: e.Subject, Customers: e.customers, State: Pending, Body: e.body, NextAttemptTime: now, CreateTime: now}
			if gone {
				d.State, d.Body, d.Customers, d.CompleteTime = Erased, nil, nil, &now
			}
			out = append(out, d)
		}
	}
	return out
}
