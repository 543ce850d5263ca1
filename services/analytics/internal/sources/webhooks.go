package sources

import (
	"context"
	"encoding/json"
	"strings"

	"google.golang.org/protobuf/encoding/protojson"

	eventv1 "github.com/kehu-crm/kehu/pkg/api/kehu/event/v1"
	"github.com/kehu-crm/kehu/pkg/customerref"
	"github.com/kehu-crm/kehu/pkg/follow"
	"github.com/kehu-crm/kehu/services/analytics/internal/insight"
	"github.com/kehu-crm/kehu/services/analytics/internal/webhook"
)

// WebhookConsumer queues the events of the stream of source (customer,
// interaction, servicedesk, analytics) for the webhooks that want them.
func WebhookConsumer(source string, svc *webhook.Service) follow.Consumer {
	return webhookConsumer{source: source, svc: svc}
}

type webhookConsumer struct {
	source string
	svc    *webhook.Service
}

func (c webhookConsumer) Cursor(ctx context.Context) (int64, error) {
	return c.svc.Cursor(ctx, c.source)
}

func (c webhookConsumer) Apply(ctx context.Context, events []*eventv1.Event) error {
	out := make([]webhook.Event, len(events))
	for i, e := range events {
		out[i] = webhookEvent(c.source, e)
	}
	return c.svc.Apply(ctx, c.source, out)
}

// payloadJSON writes payloads as the REST API does (every field, enums by
// name), with their @type.
var payloadJSON = protojson.MarshalOptions{EmitUnpopulated: true}

// webhookEvent is e as a webhook receives it; its data is null once the
// source erased it (a purged customer's events).
func webhookEvent(source string, e *eventv1.Event) webhook.Event {
	at := e.GetTime().AsTime().UTC()
	out := webhook.Event{ID: e.GetId(), Type: e.GetType(), Source: source, Sequence: e.GetSequence(), Subject: e.GetSubject(), Time: at,
		Body: func() ([]byte, error) {
			var data json.RawMessage
			if e.GetPayload() != nil {
				b, err := payloadJSON.Marshal(e.GetPayload())
				if err != nil {
					return nil, err
				}
				data = b
			}
			return webhook.Body(e.GetId(), e.GetType(), at, source, e.GetSequence(), e.GetSubject(), e.GetActor(), data)
		}}
	if source == insight.SourceCustomer && e.GetType() == customerref.EventPurged {
		out.PurgedCustomer = strings.TrimPrefix(e.GetSubject(), "customers/")
	}
	return out
}
