// Package webhook sends the events of every Kehu service to integrators'
// endpoints: webhooks (target, event types, secret) managed by admins, a
// fan-out that turns each followed event stream into deliveries in the
// same transaction as the stream's cursor, and a dispatcher that POSTs
// them signed (Standard Webhooks), in order per webhook, with retries,
// a delivery log, and webhooks turned off when they keep failing.
//
// It lives in the analytics service because that service already follows
// every other service's stream; it has its own API (kehu.webhook.v1).
package webhook

import (
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"
)

// Webhook is an endpoint and the events it wants.
type Webhook struct {
	ID, DisplayName, TargetURI string
	EventTypes                 []string
	// Secret signs every request; PreviousSecret too until
	// PreviousSecretExpiry (after a rotation).
	Secret, PreviousSecret string
	PreviousSecretExpiry   *time.Time
	Active                 bool
	DisabledReason         string
	ConsecutiveFailures    int
	Revision               int64
	CreateTime, UpdateTime time.Time
}

// Name is the webhook's resource name.
func Name(id string) string { return "webhooks/" + id }

// Etag is the webhook's strong etag.
func (w *Webhook) Etag() string { return strconv.Quote(strconv.FormatInt(w.Revision, 10)) }

// Matches reports whether an event of type eventType is for w: an exact
// type, "service.*" for a prefix, or "*".
func (w *Webhook) Matches(eventType string) bool {
	return slices.ContainsFunc(w.EventTypes, func(p string) bool { return matches(p, eventType) })
}

func matches(pattern, eventType string) bool {
	if prefix, ok := strings.CutSuffix(pattern, "*"); ok {
		return strings.HasPrefix(eventType, prefix)
	}
	return pattern == eventType
}

// signingSecrets are the secrets that sign a request at now.
func (w *Webhook) signingSecrets(now time.Time) []string {
	out := []string{w.Secret}
	if w.PreviousSecret != "" && w.PreviousSecretExpiry != nil && now.Before(*w.PreviousSecretExpiry) {
		out = append(out, w.PreviousSecret)
	}
	return out
}

// State is a delivery's state.
type State string

// The states of a delivery.
const (
	Pending   State = "PENDING"
	Delivered State = "DELIVERED"
	Failed    State = "FAILED"
	Erased    State = "ERASED"
)

// Delivery is one event on its way to one webhook.
type Delivery struct {
	ID, WebhookID string
	// Position orders a webhook's deliveries: the order they are sent in.
	Position          int64
	EventID           string
	EventType, Source string
	Sequence          int64
	Subject           string
	// Customers are those the event names (see customersIn).
	Customers       []string
	State           State
	Body            []byte
	Attempts        []Attempt
	NextAttemptTime time.Time
	Redelivery      bool
	CreateTime      time.Time
	CompleteTime    *time.Time
}

// DeliveryName is a delivery's resource name.
func DeliveryName(webhookID, id string) string { return Name(webhookID) + "/deliveries/" + id }

// Attempt is one POST of a delivery.
type Attempt struct {
	Time            time.Time
	StatusCode      int
	Latency         time.Duration
	ResponseExcerpt string
	Error           string
}

// Body is the JSON a webhook receives for an event: its envelope, and
// data as the REST API writes the payload (null once erased).
func Body(id, eventType string, at time.Time, source string, sequence int64, subject, actor string, data json.RawMessage) ([]byte, error) {
	if data == nil {
		data = json.RawMessage("null")
	}
	return json.Marshal(struct {
		ID        string          `json:"id"`
		Type      string          `json:"type"`
		Timestamp string          `json:"timestamp"`
		Source    string          `json:"source"`
		Sequence  string          `json:"sequence"`
		Subject   string          `json:"subject"`
		Actor     string          `json:"actor"`
		Data      json.RawMessage `json:"data"`
	}{id, eventType, at.UTC().Format(time.RFC3339Nano), source, strconv.FormatInt(sequence, 10), subject, actor, data})
}

// Event is a published event as the fan-out sees it.
type Event struct {
	ID, Type, Source string
	Sequence         int64
	Subject          string
	Time             time.Time
	// Body makes the JSON the webhook receives; it is called only for an
	// event some webhook wants (encoding every event of every stream for
	// no one would cost the followers dearly).
	Body func() ([]byte, error)
	// PurgedCustomer is, for customer.purged, the id of the customer
	// whose every delivery must be erased.
	PurgedCustomer string
}

// customerPurged is the customer service's purge notice, delivered (it
// names the customer, but holds nothing of them) after the erasure.
const customerPurged = "customer.purged"

// EventDisabled is published when Kehu turns a webhook off.
const EventDisabled = "webhook.disabled"

// Disabled is the data of a webhook.disabled event.
type Disabled struct{ Webhook *Webhook }

// idPattern is a webhook id a caller may choose.
var idPattern = regexp.MustCompile(`^[a-z][a-z0-9-]{1,62}$`)

// eventTypePattern is an event type or a pattern of them.
var eventTypePattern = regexp.MustCompile(`^(\*|[a-z][a-z_]*\.(\*|[a-z][a-z_.]*))$`)

// secretPrefix begins every secret (Standard Webhooks' whsec_).
const secretPrefix = "whsec_"

// newSecret is 24 random bytes as a secret.
func newSecret() string {
	b := make([]byte, 24)
	_, _ = rand.Read(b) // crypto/rand.Read never fails
	return secretPrefix + base64.StdEncoding.EncodeToString(b)
}

// secretKey is the HMAC key of a secret, false if it is not one.
func secretKey(secret string) ([]byte, bool) {
	raw, ok := strings.CutPrefix(secret, secretPrefix)
	if !ok {
		return nil, false
	}
	key, err := base64.StdEncoding.DecodeString(raw)
	if err != nil || len(key) < 24 || len(key) > 64 {
		return nil, false
	}
	return key, true
}
