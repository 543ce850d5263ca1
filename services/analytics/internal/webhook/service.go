package webhook

import (
	"context"
	"net/http"
	"slices"
	"strings"
	"time"

	"github.com/google/uuid"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/kehu-crm/kehu/pkg/errs"
	"github.com/kehu-crm/kehu/pkg/pagetoken"
	"github.com/kehu-crm/kehu/pkg/resource"
)

// Config tunes delivery.
type Config struct {
	Targets Targets
	// Timeout bounds one attempt (connect, TLS, answer).
	Timeout time.Duration
	// RetryPeriod is how long a delivery is retried after its first
	// attempt before it fails.
	RetryPeriod time.Duration
	// BackoffBase and BackoffMax bound the wait before the next attempt:
	// base × 2^(attempts-1), at most max, with jitter.
	BackoffBase, BackoffMax time.Duration
	// DisableAfter failed deliveries in a row turn a webhook off.
	DisableAfter int
	// SecretGrace is how long a rotated-out secret still signs.
	SecretGrace time.Duration
}

// Service manages webhooks and delivers their events.
type Service struct {
	store  Store
	cfg    Config
	client *http.Client
	now    func() time.Time
	// wake tells the dispatcher that deliveries were queued.
	wake     chan struct{}
	attempts *prometheus.CounterVec
	latency  prometheus.Histogram
}

// New returns a Service and registers its metrics with reg.
func New(store Store, cfg Config, reg prometheus.Registerer) *Service {
	s := &Service{
		store: store, cfg: cfg, client: newClient(cfg.Targets, cfg.Timeout), now: time.Now,
		wake: make(chan struct{}, 1),
		attempts: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "kehu_webhook_attempts_total",
			Help: "Webhook delivery attempts by result: delivered, retry (will be tried again), failed (gave up), erased (its customer was purged meanwhile).",
		}, []string{"result"}),
		latency: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name:    "kehu_webhook_attempt_seconds",
			Help:    "How long webhook targets took to answer an attempt.",
			Buckets: prometheus.ExponentialBuckets(0.01, 3, 8),
		}),
	}
	reg.MustRegister(s.attempts, s.latency)
	return s
}

// notify wakes the dispatcher without waiting.
func (s *Service) notify() {
	select {
	case s.wake <- struct{}{}:
	default:
	}
}

var fields = resource.Fields{
	Updatable:  []string{"display_name", "target_uri", "event_types", "active", "secret"},
	OutputOnly: []string{"name", "disabled_reason", "consecutive_failures", "create_time", "update_time", "etag"},
}

// validate reports every bad field of w under prefix.
func (s *Service) validate(v *errs.Violations, w *Webhook, prefix string) {
	if len(w.DisplayName) > 200 {
		v.Add(prefix+".display_name", "must be at most 200 characters")
	}
	if why := s.cfg.Targets.check(w.TargetURI); why != "" {
		v.Add(prefix+".target_uri", "%s", why)
	}
	if len(w.EventTypes) == 0 || len(w.EventTypes) > 50 {
		v.Add(prefix+".event_types", "must name 1 to 50 event types, e.g. \"customer.*\", \"ticket.created\" or \"*\"")
	}
	for i, t := range w.EventTypes {
		if !eventTypePattern.MatchString(t) {
			v.Add(prefix+".event_types", "entry %d: %q is not an event type (\"ticket.created\"), a service's events (\"customer.*\") or \"*\"", i, t)
		}
	}
	if w.Secret != "" {
		if _, ok := secretKey(w.Secret); !ok {
			v.Add(prefix+".secret", "must be \"whsec_\" and the base64 of 24 to 64 random bytes, or empty for a generated one")
		}
	}
}

// Create adds a webhook; it answers with the secret, the only time it is
// shown (rotations aside).
func (s *Service) Create(ctx context.Context, id string, in *Webhook, active *bool) (*Webhook, error) {
	if in == nil {
		return nil, errs.InvalidField("webhook", "is required")
	}
	var v errs.Violations
	if id != "" && !idPattern.MatchString(id) {
		v.Add("webhook_id", "must be 2-63 lower-case letters, digits or '-', starting with a letter, got %q", id)
	}
	s.validate(&v, in, "webhook")
	if err := v.Err(); err != nil {
		return nil, err
	}
	w := *in
	if id == "" {
		id = uuid.NewString()
	}
	w.ID, w.Revision, w.Active = id, 1, active == nil || *active
	w.EventTypes = slices.Compact(slices.Sorted(slices.Values(w.EventTypes)))
	if w.Secret == "" {
		w.Secret = newSecret()
	}
	w.CreateTime = s.now().UTC()
	w.UpdateTime = w.CreateTime
	if err := s.store.InsertWebhook(ctx, &w); err != nil {
		return nil, err
	}
	return &w, nil
}

// Get returns a webhook without its secrets.
func (s *Service) Get(ctx context.Context, name string) (*Webhook, error) {
	w, err := s.load(ctx, "name", name)
	if err != nil {
		return nil, err
	}
	return hidden(w), nil
}

// load reads the webhook named in field, secrets and all.
func (s *Service) load(ctx context.Context, field, name string) (*Webhook, error) {
	id, err := parseName(field, name)
	if err != nil {
		return nil, err
	}
	return s.store.GetWebhook(ctx, id)
}

// hidden is w without its secrets.
func hidden(w *Webhook) *Webhook {
	out := *w
	out.Secret, out.PreviousSecret = "", ""
	return &out
}

// List pages webhooks by id, without their secrets.
func (s *Service) List(ctx context.Context, pageSize int32, pageToken string) ([]*Webhook, string, error) {
	size, err := pagetoken.Size(pageSize, 50, 1000)
	if err != nil {
		return nil, "", err
	}
	var after string
	if pageToken != "" {
		if err := pagetoken.Decode(pageToken, "webhooks", &after); err != nil {
			return nil, "", err
		}
	}
	rows, err := s.store.ListWebhooks(ctx, after, size+1)
	if err != nil {
		return nil, "", err
	}
	next := ""
	if len(rows) > size {
		rows = rows[:size]
		next = pagetoken.Encode("webhooks", rows[size-1].ID)
	}
	for i, w := range rows {
		rows[i] = hidden(w)
	}
	return rows, next, nil
}

// Update changes the fields named in paths. Naming "secret" rotates it:
// the given secret (or a new one) signs from now on, the old one too for
// the grace period; the answer carries the new secret. Turning a webhook
// back on clears why it was turned off and its failure count.
func (s *Service) Update(ctx context.Context, name string, in *Webhook, etag string, active *bool, paths []string) (*Webhook, error) {
	if in == nil {
		return nil, errs.InvalidField("webhook", "is required")
	}
	paths, err := fields.CheckMask(paths)
	if err != nil {
		return nil, err
	}
	cur, err := s.load(ctx, "webhook.name", name)
	if err != nil {
		return nil, err
	}
	if err := resource.CheckEtag(etag, cur.Etag(), name); err != nil {
		return nil, err
	}
	next := *cur
	now := s.now().UTC()
	rotated := false
	for _, p := range paths {
		switch p {
		case "display_name":
			next.DisplayName = in.DisplayName
		case "target_uri":
			next.TargetURI = in.TargetURI
		case "event_types":
			next.EventTypes = slices.Compact(slices.Sorted(slices.Values(in.EventTypes)))
		case "active":
			next.Active = active != nil && *active
			if next.Active && !cur.Active {
				next.DisabledReason, next.ConsecutiveFailures = "", 0
			}
		case "secret":
			rotated = true
			expiry := now.Add(s.cfg.SecretGrace)
			next.PreviousSecret, next.PreviousSecretExpiry, next.Secret = cur.Secret, &expiry, in.Secret
		}
	}
	var v errs.Violations
	s.validate(&v, &next, "webhook")
	if err := v.Err(); err != nil {
		return nil, err
	}
	if rotated && next.Secret == "" {
		next.Secret = newSecret()
	}
	next.UpdateTime = now
	if err := s.store.UpdateWebhook(ctx, &next, cur.Revision); err != nil {
		return nil, err
	}
	next.Revision = cur.Revision + 1
	s.notify() // reactivated: its queue may be due
	if rotated {
		out := next
		out.PreviousSecret = ""
		return &out, nil
	}
	return hidden(&next), nil
}

// Delete deletes a webhook and its delivery log.
func (s *Service) Delete(ctx context.Context, name, etag string) error {
	cur, err := s.load(ctx, "name", name)
	if err != nil {
		return err
	}
	if err := resource.CheckEtag(etag, cur.Etag(), name); err != nil {
		return err
	}
	return s.store.DeleteWebhook(ctx, cur.ID, cur.Revision)
}

// ListDeliveries pages a webhook's delivery log, newest first.
func (s *Service) ListDeliveries(ctx context.Context, parent, filter string, pageSize int32, pageToken string) ([]*Delivery, string, error) {
	id, err := parseName("parent", parent)
	if err != nil {
		return nil, "", err
	}
	size, err := pagetoken.Size(pageSize, 50, 1000)
	if err != nil {
		return nil, "", err
	}
	query := "deliveries/" + id + "/" + filter
	var before int64
	if pageToken != "" {
		if err := pagetoken.Decode(pageToken, query, &before); err != nil {
			return nil, "", err
		}
	}
	if _, err := s.store.GetWebhook(ctx, id); err != nil {
		return nil, "", err
	}
	rows, err := s.store.ListDeliveries(ctx, id, filter, before, size+1)
	if err != nil {
		return nil, "", err
	}
	next := ""
	if len(rows) > size {
		rows = rows[:size]
		next = pagetoken.Encode(query, rows[size-1].Position)
	}
	return rows, next, nil
}

// PruneLog deletes finished deliveries completed before before.
func (s *Service) PruneLog(ctx context.Context, before time.Time) error {
	_, err := s.store.PruneDeliveries(ctx, before)
	return err
}

// Redeliver queues a delivered or failed delivery's event again, after
// every delivery already queued for the webhook.
func (s *Service) Redeliver(ctx context.Context, name string) (*Delivery, error) {
	webhookID, id, err := parseDeliveryName("delivery", name)
	if err != nil {
		return nil, err
	}
	d, err := s.store.GetDelivery(ctx, webhookID, id)
	if err != nil {
		return nil, err
	}
	switch {
	case d.State == Pending:
		return nil, errs.FailedPrecondition("DELIVERY_PENDING", "%s is still pending: it will be sent without a redelivery", name)
	case d.State == Erased || len(d.Body) == 0:
		return nil, errs.FailedPrecondition("DELIVERY_ERASED", "%s was erased with its customer and cannot be sent again", name)
	}
	now := s.now().UTC()
	again := &Delivery{ID: uuid.NewString(), WebhookID: webhookID, EventID: d.EventID, EventType: d.EventType, Source: d.Source,
		Sequence: d.Sequence, Subject: d.Subject, Customers: d.Customers, State: Pending, Body: d.Body, NextAttemptTime: now,
		Redelivery: true, CreateTime: now}
	err = s.store.InTx(ctx, func(ctx context.Context, tx Tx) error {
		// A purge may have erased the original since it was read.
		gone, err := tx.Erased(ctx, d.Customers)
		if err != nil {
			return err
		}
		if len(gone) > 0 && d.EventType != customerPurged {
			return errs.FailedPrecondition("DELIVERY_ERASED", "%s was erased with its customer and cannot be sent again", name)
		}
		return tx.InsertDelivery(ctx, again)
	})
	if err != nil {
		return nil, err
	}
	s.notify()
	return again, nil
}

// parseName returns the id of a "webhooks/{webhook}" name in field.
func parseName(field, name string) (string, error) {
	id, ok := strings.CutPrefix(name, "webhooks/")
	if !ok || !validID(id) {
		return "", errs.InvalidField(field, "must be a webhook name, webhooks/{webhook}, got %q", name)
	}
	return id, nil
}

// parseDeliveryName splits "webhooks/{webhook}/deliveries/{delivery}".
func parseDeliveryName(field, name string) (webhookID, id string, err error) {
	parent, rest, ok := strings.Cut(strings.TrimPrefix(name, "webhooks/"), "/deliveries/")
	if !ok || !strings.HasPrefix(name, "webhooks/") || !validID(parent) || uuid.Validate(rest) != nil {
		return "", "", errs.InvalidField(field, "must be a delivery name, webhooks/{webhook}/deliveries/{delivery}, got %q", name)
	}
	return parent, rest, nil
}

// validID accepts chosen ids and generated (UUID) ones.
func validID(id string) bool { return idPattern.MatchString(id) || uuid.Validate(id) == nil }
