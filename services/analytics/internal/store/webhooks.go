package store

import (
	"context"
	"errors"
	"slices"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/kehu-crm/kehu/pkg/customerref/erased"
	"github.com/kehu-crm/kehu/pkg/envelope"
	"github.com/kehu-crm/kehu/pkg/errs"
	"github.com/kehu-crm/kehu/pkg/filter"
	"github.com/kehu-crm/kehu/pkg/outbox"
	"github.com/kehu-crm/kehu/pkg/pg"
	"github.com/kehu-crm/kehu/services/analytics/internal/webhook"
)

// Webhooks is the PostgreSQL implementation of webhook.Store, on the
// analytics schema. The deliveries' bodies (events about customers carry
// their contacts) are sealed at rest by keys (see bodies.go).
type Webhooks struct {
	*Store
	keys *envelope.Keyring
}

var _ webhook.Store = Webhooks{}

// NewWebhooks returns the webhook store beside s, sealing the bodies of
// deliveries with keys.
func NewWebhooks(s *Store, keys *envelope.Keyring) Webhooks { return Webhooks{Store: s, keys: keys} }

// InTx implements webhook.Store.
func (s Webhooks) InTx(ctx context.Context, fn func(ctx context.Context, tx webhook.Tx) error) error {
	return pg.InTx(ctx, s.pool, pgx.ReadCommitted, func(t pgx.Tx) error {
		return fn(ctx, webhookTx{tx: &tx{Emitter: outbox.Emitter{Tx: t, Codec: s.codec}, tx: t}, keys: s.keys})
	})
}

// webhookTx implements webhook.Tx; events and cursors are the read
// model's transaction's.
type webhookTx struct {
	*tx
	keys *envelope.Keyring
}

var _ webhook.Tx = webhookTx{}

const webhookColumns = `id, display_name, target_uri, event_types, secret, previous_secret, previous_secret_expire_time, active,
	disabled_reason, consecutive_failures, revision, create_time, update_time`

func scanWebhook(row pgx.Row) (*webhook.Webhook, error) {
	var w webhook.Webhook
	err := row.Scan(&w.ID, &w.DisplayName, &w.TargetURI, &w.EventTypes, &w.Secret, &w.PreviousSecret, &w.PreviousSecretExpiry, &w.Active,
		&w.DisabledReason, &w.ConsecutiveFailures, &w.Revision, &w.CreateTime, &w.UpdateTime)
	w.CreateTime, w.UpdateTime = w.CreateTime.UTC(), w.UpdateTime.UTC()
	return &w, err
}

// InsertWebhook implements webhook.Store.
func (s Webhooks) InsertWebhook(ctx context.Context, w *webhook.Webhook) error {
	_, err := s.pool.Exec(ctx, `INSERT INTO webhooks (`+webhookColumns+`) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13)`,
		w.ID, w.DisplayName, w.TargetURI, w.EventTypes, w.Secret, w.PreviousSecret, w.PreviousSecretExpiry, w.Active,
		w.DisabledReason, w.ConsecutiveFailures, w.Revision, w.CreateTime, w.UpdateTime)
	if pg.ConstraintName(err) == "webhooks_pkey" {
		return errs.AlreadyExists("WEBHOOK_EXISTS", "%s already exists", webhook.Name(w.ID))
	}
	return pg.Classify(err)
}

// GetWebhook implements webhook.Store.
func (s Webhooks) GetWebhook(ctx context.Context, id string) (*webhook.Webhook, error) {
	return pg.One(s.pool.QueryRow(ctx, `SELECT `+webhookColumns+` FROM webhooks WHERE id = $1`, id), scanWebhook, webhook.Name(id))
}

// ListWebhooks implements webhook.Store.
func (s Webhooks) ListWebhooks(ctx context.Context, after string, limit int) ([]*webhook.Webhook, error) {
	rows, err := s.pool.Query(ctx, `SELECT `+webhookColumns+` FROM webhooks WHERE id > $1 ORDER BY id LIMIT $2`, after, limit)
	return pg.Collect(rows, err, scanWebhook)
}

// UpdateWebhook implements webhook.Store.
func (s Webhooks) UpdateWebhook(ctx context.Context, w *webhook.Webhook, revision int64) error {
	// The failure count is the dispatcher's (it does not change the
	// revision): an update leaves it, but for turning the webhook on.
	tag, err := s.pool.Exec(ctx, `UPDATE webhooks SET display_name = $3, target_uri = $4, event_types = $5, secret = $6, previous_secret = $7,
			previous_secret_expire_time = $8, active = $9, disabled_reason = $10,
			consecutive_failures = CASE WHEN $9 AND NOT active THEN 0 ELSE consecutive_failures END, update_time = $11,
			revision = revision + 1
		WHERE id = $1 AND revision = $2`,
		w.ID, revision, w.DisplayName, w.TargetURI, w.EventTypes, w.Secret, w.PreviousSecret, w.PreviousSecretExpiry, w.Active,
		w.DisabledReason, w.UpdateTime)
	if err == nil && tag.RowsAffected() == 0 {
		return errs.EtagMismatch(webhook.Name(w.ID))
	}
	return pg.Classify(err)
}

// DeleteWebhook implements webhook.Store; the deliveries go with it.
func (s Webhooks) DeleteWebhook(ctx context.Context, id string, revision int64) error {
	tag, err := s.pool.Exec(ctx, `DELETE FROM webhooks WHERE id = $1 AND revision = $2`, id, revision)
	if err == nil && tag.RowsAffected() == 0 {
		return errs.EtagMismatch(webhook.Name(id))
	}
	return pg.Classify(err)
}

// deliveryFields are what ListDeliveries' filter may name.
var deliveryFields = filter.Schema{
	"state": {Column: "d.state", Type: filter.Enum, Enum: func(l string) (string, bool) {
		s := strings.TrimPrefix(strings.ToUpper(l), "STATE_")
		switch webhook.State(s) {
		case webhook.Pending, webhook.Delivered, webhook.Failed, webhook.Erased:
			return s, true
		}
		return "", false
	}},
	"event_type":  {Column: "d.event_type", Type: filter.String},
	"source":      {Column: "d.source", Type: filter.String},
	"subject":     {Column: "d.subject", Type: filter.String},
	"create_time": {Column: "d.create_time", Type: filter.Timestamp},
}

const deliveryColumns = `d.position, d.id, d.webhook_id, d.event_id, d.event_type, d.source, d.sequence, d.subject, d.customers::text[], d.state,
	d.body, d.next_attempt_time, d.redelivery, d.create_time, d.complete_time`

func scanDelivery(row pgx.Row) (*webhook.Delivery, error) {
	var d webhook.Delivery
	var state string
	err := row.Scan(&d.Position, &d.ID, &d.WebhookID, &d.EventID, &d.EventType, &d.Source, &d.Sequence, &d.Subject, &d.Customers, &state,
		&d.Body, &d.NextAttemptTime, &d.Redelivery, &d.CreateTime, &d.CompleteTime)
	d.State = webhook.State(state)
	d.NextAttemptTime, d.CreateTime = d.NextAttemptTime.UTC(), d.CreateTime.UTC()
	return &d, err
}

// withAttempts reads the attempts of deliveries, oldest first.
func withAttempts(ctx context.Context, q pg.Querier, deliveries []*webhook.Delivery) ([]*webhook.Delivery, error) {
	if len(deliveries) == 0 {
		return deliveries, nil
	}
	byID := make(map[string]*webhook.Delivery, len(deliveries))
	ids := make([]string, len(deliveries))
	for i, d := range deliveries {
		byID[d.ID], ids[i] = d, d.ID
	}
	rows, err := q.Query(ctx, `SELECT delivery_id, attempt_time, status_code, latency_ms, response_excerpt, error
		FROM webhook_attempts WHERE delivery_id = ANY ($1::uuid[]) ORDER BY delivery_id, attempt`, ids)
	if err != nil {
		return nil, pg.Classify(err)
	}
	var (
		id string
		a  webhook.Attempt
		ms float64
	)
	_, err = pgx.ForEachRow(rows, []any{&id, &a.Time, &a.StatusCode, &ms, &a.ResponseExcerpt, &a.Error}, func() error {
		a.Time, a.Latency = a.Time.UTC(), time.Duration(ms*float64(time.Millisecond))
		byID[id].Attempts = append(byID[id].Attempts, a)
		return nil
	})
	return deliveries, pg.Classify(err)
}

// ListDeliveries implements webhook.Store.
func (s Webhooks) ListDeliveries(ctx context.Context, webhookID, f string, before int64, limit int) ([]*webhook.Delivery, error) {
	clause, err := filter.Compile(f, deliveryFields, 3)
	if err != nil {
		return nil, err
	}
	where := `d.webhook_id = $1 AND ($2 = 0 OR d.position < $2)`
	if clause.SQL != "" {
		where += ` AND ` + clause.SQL
	}
	rows, err := s.pool.Query(ctx, `SELECT `+deliveryColumns+` FROM webhook_deliveries d WHERE `+where+` ORDER BY d.position DESC LIMIT $3`,
		append([]any{webhookID, before, limit}, clause.Args...)...)
	out, err := pg.Collect(rows, err, scanDelivery)
	if err != nil {
		return nil, err
	}
	if err := openBodies(ctx, s.keys, out...); err != nil {
		return nil, err
	}
	return withAttempts(ctx, s.pool, out)
}

// GetDelivery implements webhook.Store.
func (s Webhooks) GetDelivery(ctx context.Context, webhookID, id string) (*webhook.Delivery, error) {
	d, err := pg.One(s.pool.QueryRow(ctx, `SELECT `+deliveryColumns+` FROM webhook_deliveries d WHERE d.webhook_id = $1 AND d.id = $2`,
		webhookID, id), scanDelivery, webhook.DeliveryName(webhookID, id))
	if err != nil {
		return nil, err
	}
	if err := openBodies(ctx, s.keys, d); err != nil {
		return nil, err
	}
	out, err := withAttempts(ctx, s.pool, []*webhook.Delivery{d})
	if err != nil {
		return nil, err
	}
	return out[0], nil
}

// InsertDelivery implements webhook.Store.
func (s Webhooks) InsertDelivery(ctx context.Context, d *webhook.Delivery) error {
	return s.InTx(ctx, func(ctx context.Context, tx webhook.Tx) error { return tx.InsertDelivery(ctx, d) })
}

// Due implements webhook.Store.
func (s Webhooks) Due(ctx context.Context, now time.Time, limit int) ([]string, error) {
	rows, err := s.pool.Query(ctx, `
		SELECT w.id FROM webhooks w
		JOIN LATERAL (SELECT next_attempt_time FROM webhook_deliveries d
		              WHERE d.webhook_id = w.id AND d.state = 'PENDING' ORDER BY d.position LIMIT 1) head ON true
		WHERE w.active AND head.next_attempt_time <= $1
		ORDER BY head.next_attempt_time LIMIT $2`, now, limit)
	return pg.Collect(rows, err, func(r pgx.Row) (string, error) {
		var id string
		return id, r.Scan(&id)
	})
}

// Head implements webhook.Store.
func (s Webhooks) Head(ctx context.Context, webhookID string) (*webhook.Delivery, *webhook.Webhook, error) {
	w, err := s.GetWebhook(ctx, webhookID)
	if err != nil {
		return nil, nil, err
	}
	d, err := scanDelivery(s.pool.QueryRow(ctx, `SELECT `+deliveryColumns+` FROM webhook_deliveries d
		WHERE d.webhook_id = $1 AND d.state = 'PENDING' ORDER BY d.position LIMIT 1`, webhookID))
	if errors.Is(err, pgx.ErrNoRows) {
		return nil, w, nil
	}
	if err != nil {
		return nil, nil, pg.Classify(err)
	}
	if err := openBodies(ctx, s.keys, d); err != nil {
		return nil, nil, err
	}
	out, err := withAttempts(ctx, s.pool, []*webhook.Delivery{d})
	if err != nil {
		return nil, nil, err
	}
	return out[0], w, nil
}

// PruneDeliveries implements webhook.Store, 5,000 deliveries (and their
// attempts) a statement, so a backlog never runs into the statement
// timeout or holds locks for long.
func (s Webhooks) PruneDeliveries(ctx context.Context, before time.Time) (int64, error) {
	var total int64
	for {
		tag, err := s.pool.Exec(ctx, `DELETE FROM webhook_deliveries WHERE position IN (
			SELECT position FROM webhook_deliveries WHERE complete_time < $1 LIMIT 5000)`, before)
		if err != nil {
			return total, pg.Classify(err)
		}
		total += tag.RowsAffected()
		if tag.RowsAffected() < 5000 {
			return total, nil
		}
	}
}

// InsertDelivery implements webhook.Tx.
func (t webhookTx) InsertDelivery(ctx context.Context, d *webhook.Delivery) error {
	err := t.tx.tx.QueryRow(ctx, `INSERT INTO webhook_deliveries (id, webhook_id, event_id, event_type, source, sequence, subject, customers,
			state, body, next_attempt_time, redelivery, create_time, complete_time)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8::text[]::uuid[], $9, $10, $11, $12, $13, $14) RETURNING position`,
		d.ID, d.WebhookID, d.EventID, d.EventType, d.Source, d.Sequence, d.Subject, pg.NonNil(d.Customers), string(d.State), sealBody(t.keys, d),
		d.NextAttemptTime, d.Redelivery, d.CreateTime, d.CompleteTime).Scan(&d.Position)
	if err != nil {
		return pg.Classify(err)
	}
	for i, a := range d.Attempts {
		if err := t.insertAttempt(ctx, d.ID, i+1, a); err != nil {
			return err
		}
	}
	return nil
}

// ActiveWebhooks implements webhook.Tx.
func (t webhookTx) ActiveWebhooks(ctx context.Context) ([]*webhook.Webhook, error) {
	rows, err := t.tx.tx.Query(ctx, `SELECT `+webhookColumns+` FROM webhooks WHERE active ORDER BY id`)
	return pg.Collect(rows, err, scanWebhook)
}

// Enqueue implements webhook.Tx in one statement, in the order given.
func (t webhookTx) Enqueue(ctx context.Context, deliveries []*webhook.Delivery) error {
	if len(deliveries) == 0 {
		return nil
	}
	n := len(deliveries)
	ids, hooks, events, types, sources, subjects, states := make([]string, n), make([]string, n), make([]string, n), make([]string, n),
		make([]string, n), make([]string, n), make([]string, n)
	sequences, bodies, times, completed := make([]int64, n), make([][]byte, n), make([]time.Time, n), make([]*time.Time, n)
	customers := make([]string, n) // each delivery's as a comma-separated list: arrays of arrays must be rectangular
	for i, d := range deliveries {
		ids[i], hooks[i], events[i], types[i], sources[i], subjects[i], states[i] = d.ID, d.WebhookID, d.EventID, d.EventType, d.Source, d.Subject, string(d.State)
		sequences[i], bodies[i], times[i], completed[i] = d.Sequence, sealBody(t.keys, d), d.CreateTime, d.CompleteTime
		customers[i] = strings.Join(d.Customers, ",")
	}
	_, err := t.tx.tx.Exec(ctx, `
		INSERT INTO webhook_deliveries (id, webhook_id, event_id, event_type, source, sequence, subject, customers, state, body,
			next_attempt_time, create_time, complete_time)
		SELECT id, webhook_id, event_id, event_type, source, sequence, subject, coalesce(string_to_array(nullif(customers, ''), ',')::uuid[], '{}'), state, body,
			at, at, completed
		FROM unnest($1::uuid[], $2::text[], $3::uuid[], $4::text[], $5::text[], $6::bigint[], $7::text[], $8::text[], $9::text[], $10::bytea[],
		            $11::timestamptz[], $12::timestamptz[])
		     WITH ORDINALITY AS e(id, webhook_id, event_id, event_type, source, sequence, subject, customers, state, body, at, completed, n)
		ORDER BY n
		ON CONFLICT DO NOTHING`, ids, hooks, events, types, sources, sequences, subjects, customers, states, bodies, times, completed)
	return pg.Classify(err)
}

// MarkErased implements webhook.Tx, in id order (see erased.Which).
func (t webhookTx) MarkErased(ctx context.Context, customers []string) error {
	for _, id := range slices.Compact(slices.Sorted(slices.Values(customers))) {
		if err := erased.Record(ctx, t.tx.tx, id); err != nil {
			return err
		}
	}
	return nil
}

// Erased implements webhook.Tx.
func (t webhookTx) Erased(ctx context.Context, customers []string) ([]string, error) {
	return erased.Which(ctx, t.tx.tx, customers)
}

// Erase implements webhook.Tx: every delivery of an event that names the
// customer (every event about a customer does), but the purge notice
// itself. Two statements: the second sees attempts that committed while
// the first waited for their deliveries' rows.
func (t webhookTx) Erase(ctx context.Context, customerID string, now time.Time) error {
	rows, err := t.tx.tx.Query(ctx, `
		UPDATE webhook_deliveries SET body = '', customers = '{}', complete_time = coalesce(complete_time, $2),
		       state = CASE WHEN state = 'PENDING' THEN 'ERASED' ELSE state END
		WHERE customers @> ARRAY[$1::uuid] AND event_type <> 'customer.purged'
		RETURNING id`, customerID, now)
	erased, err := pg.Collect(rows, err, func(r pgx.Row) (string, error) {
		var id string
		return id, r.Scan(&id)
	})
	if err != nil || len(erased) == 0 {
		return err
	}
	_, err = t.tx.tx.Exec(ctx, `UPDATE webhook_attempts SET response_excerpt = '' WHERE delivery_id = ANY ($1::uuid[])`, erased)
	return pg.Classify(err)
}

func (t webhookTx) insertAttempt(ctx context.Context, deliveryID string, n int, a webhook.Attempt) error {
	_, err := t.tx.tx.Exec(ctx, `INSERT INTO webhook_attempts (delivery_id, attempt, attempt_time, status_code, latency_ms, response_excerpt, error)
		VALUES ($1, $2, $3, $4, $5, $6, $7)`,
		deliveryID, n, a.Time, a.StatusCode, float64(a.Latency)/float64(time.Millisecond), a.ResponseExcerpt, a.Error)
	return pg.Classify(err)
}

// RecordAttempt implements webhook.Tx; the attempt is the delivery's next.
// A delivery erased while the attempt was under way stays erased, and
// keeps no trace of the attempt.
func (t webhookTx) RecordAttempt(ctx context.Context, d *webhook.Delivery, a webhook.Attempt) (bool, error) {
	tag, err := t.tx.tx.Exec(ctx, `UPDATE webhook_deliveries SET state = $2, next_attempt_time = $3, complete_time = $4
		WHERE id = $1 AND state = 'PENDING'`, d.ID, string(d.State), d.NextAttemptTime, d.CompleteTime)
	if err != nil || tag.RowsAffected() == 0 {
		return false, pg.Classify(err)
	}
	return true, t.insertAttempt(ctx, d.ID, len(d.Attempts)+1, a)
}

// Failure implements webhook.Tx.
func (t webhookTx) Failure(ctx context.Context, webhookID string) (int, error) {
	var n int
	err := t.tx.tx.QueryRow(ctx, `UPDATE webhooks SET consecutive_failures = consecutive_failures + 1
		WHERE id = $1 RETURNING consecutive_failures`, webhookID).Scan(&n)
	return n, pg.Classify(err)
}

// Success implements webhook.Tx.
func (t webhookTx) Success(ctx context.Context, webhookID string) error {
	_, err := t.tx.tx.Exec(ctx, `UPDATE webhooks SET consecutive_failures = 0 WHERE id = $1 AND consecutive_failures > 0`, webhookID)
	return pg.Classify(err)
}

// Disable implements webhook.Tx.
func (t webhookTx) Disable(ctx context.Context, webhookID, reason string) (*webhook.Webhook, error) {
	return pg.One(t.tx.tx.QueryRow(ctx, `UPDATE webhooks SET active = false, disabled_reason = $2, revision = revision + 1, update_time = now()
		WHERE id = $1 RETURNING `+webhookColumns, webhookID, reason), scanWebhook, webhook.Name(webhookID))
}
