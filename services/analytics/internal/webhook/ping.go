package webhook

import (
	"context"
	"encoding/json"

	"github.com/google/uuid"
)

// EventPing is the type of a ping's event.
const EventPing = "webhook.ping"

// Ping sends a webhook.ping event to a webhook now, whether or not it is
// active, and logs it as a delivery that is not retried.
func (s *Service) Ping(ctx context.Context, name string) (*Delivery, error) {
	w, err := s.load(ctx, "name", name)
	if err != nil {
		return nil, err
	}
	now := s.now().UTC()
	eventID := uuid.NewString()
	data, err := json.Marshal(map[string]string{"webhook": name})
	if err != nil {
		return nil, err
	}
	body, err := Body(eventID, EventPing, now, "analytics", 0, name, "", data)
	if err != nil {
		return nil, err
	}
	a := s.send(ctx, w, eventID, body)
	d := &Delivery{ID: uuid.NewString(), WebhookID: w.ID, EventID: eventID, EventType: EventPing, Source: "analytics",
		Subject: name, State: Failed, Body: body, Attempts: []Attempt{a}, CreateTime: now, CompleteTime: &a.Time}
	if a.delivered() {
		d.State = Delivered
	}
	if err := s.store.InsertDelivery(ctx, d); err != nil {
		return nil, err
	}
	return d, nil
}
