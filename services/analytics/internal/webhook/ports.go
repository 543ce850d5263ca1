package webhook

import (
	"context"
	"time"

	"github.com/kehu-crm/kehu/pkg/event"
)

// Store keeps webhooks and their deliveries.
type Store interface {
	InTx(ctx context.Context, fn func(ctx context.Context, tx Tx) error) error

	// InsertWebhook fails with WEBHOOK_EXISTS when the id is taken.
	InsertWebhook(ctx context.Context, w *Webhook) error
	// GetWebhook is NOT_FOUND for an unknown id.
	GetWebhook(ctx context.Context, id string) (*Webhook, error)
	ListWebhooks(ctx context.Context, after string, limit int) ([]*Webhook, error)
	// UpdateWebhook stores w if the stored revision is still revision
	// (else an etag mismatch) and moves it to the next revision.
	UpdateWebhook(ctx context.Context, w *Webhook, revision int64) error
	// DeleteWebhook deletes a webhook and its deliveries at revision.
	DeleteWebhook(ctx context.Context, id string, revision int64) error

	// ListDeliveries returns a webhook's deliveries matching filter (an
	// AIP-160 string, checked here) at positions below before (0: from the
	// newest), newest first, with their attempts.
	ListDeliveries(ctx context.Context, webhookID, filter string, before int64, limit int) ([]*Delivery, error)
	// GetDelivery is NOT_FOUND for an unknown delivery of the webhook.
	GetDelivery(ctx context.Context, webhookID, id string) (*Delivery, error)
	// InsertDelivery adds a delivery (with its attempts) after every other.
	InsertDelivery(ctx context.Context, d *Delivery) error

	// Cursor is how far the fan-out has read source's stream.
	Cursor(ctx context.Context, source string) (int64, error)
	// Due lists active webhooks whose oldest pending delivery is due at now.
	Due(ctx context.Context, now time.Time, limit int) ([]string, error)
	// Head is a webhook's oldest pending delivery (nil if none) and the
	// webhook as it is now.
	Head(ctx context.Context, webhookID string) (*Delivery, *Webhook, error)
	// PruneDeliveries deletes delivered, failed and erased deliveries
	// completed before before.
	PruneDeliveries(ctx context.Context, before time.Time) (int64, error)
}

// Tx is one transaction of the store.
type Tx interface {
	// Emit publishes events in the transaction.
	Emit(ctx context.Context, events ...event.Event) error
	// Cursor locks and returns how far the fan-out has read source's
	// stream; SetCursor moves it.
	Cursor(ctx context.Context, source string) (int64, error)
	SetCursor(ctx context.Context, source string, sequence int64) error
	// InsertDelivery adds a delivery (with its attempts) after every other.
	InsertDelivery(ctx context.Context, d *Delivery) error
	// ActiveWebhooks are the webhooks events are queued for.
	ActiveWebhooks(ctx context.Context) ([]*Webhook, error)
	// Enqueue adds deliveries after every other, in order; an event
	// already queued for a webhook is not queued again.
	Enqueue(ctx context.Context, deliveries []*Delivery) error
	// MarkErased records that customers were purged, once writes about
	// them in progress have committed; Erased returns which of customers
	// are, holding off their erasure until the transaction ends.
	MarkErased(ctx context.Context, customers []string) error
	Erased(ctx context.Context, customers []string) ([]string, error)
	// Erase blanks the bodies and attempts of every delivery that
	// mentions customer id and closes the pending ones as ERASED.
	Erase(ctx context.Context, customerID string, now time.Time) error
	// RecordAttempt adds an attempt to a pending delivery and sets its
	// state (and next attempt, while pending); false if the delivery is no
	// longer pending (erased meanwhile), when it records nothing.
	RecordAttempt(ctx context.Context, d *Delivery, a Attempt) (bool, error)
	// Failure counts a failed delivery against a webhook and returns how
	// many failed in a row; Success resets that count.
	Failure(ctx context.Context, webhookID string) (int, error)
	Success(ctx context.Context, webhookID string) error
	// Disable turns a webhook off with reason and returns it.
	Disable(ctx context.Context, webhookID, reason string) (*Webhook, error)
}
