package server

import (
	"context"

	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/durationpb"
	"google.golang.org/protobuf/types/known/timestamppb"

	webhookv1 "github.com/kehu-crm/kehu/pkg/api/kehu/webhook/v1"
	"github.com/kehu-crm/kehu/services/analytics/internal/webhook"
)

// Webhooks implements webhookv1.WebhookServiceServer.
type Webhooks struct {
	webhookv1.UnimplementedWebhookServiceServer
	svc *webhook.Service
}

var _ webhookv1.WebhookServiceServer = (*Webhooks)(nil)

// NewWebhooks returns the webhook handlers.
func NewWebhooks(svc *webhook.Service) *Webhooks { return &Webhooks{svc: svc} }

func webhookToProto(w *webhook.Webhook) *webhookv1.Webhook {
	return &webhookv1.Webhook{Name: webhook.Name(w.ID), DisplayName: w.DisplayName, TargetUri: w.TargetURI, EventTypes: w.EventTypes,
		Secret: w.Secret, Active: proto.Bool(w.Active), DisabledReason: w.DisabledReason, ConsecutiveFailures: int32(w.ConsecutiveFailures),
		CreateTime: timestamppb.New(w.CreateTime), UpdateTime: timestamppb.New(w.UpdateTime), Etag: w.Etag()}
}

// webhookFromProto is the writable part of w, and the etag it was read at.
func webhookFromProto(w *webhookv1.Webhook) (*webhook.Webhook, string) {
	if w == nil {
		return nil, ""
	}
	return &webhook.Webhook{DisplayName: w.GetDisplayName(), TargetURI: w.GetTargetUri(), EventTypes: w.GetEventTypes(), Secret: w.GetSecret()},
		w.GetEtag()
}

func deliveryToProto(d *webhook.Delivery) *webhookv1.Delivery {
	out := &webhookv1.Delivery{Name: webhook.DeliveryName(d.WebhookID, d.ID), EventId: d.EventID, EventType: d.EventType, Source: d.Source,
		Sequence: d.Sequence, Subject: d.Subject, State: webhookv1.Delivery_State(webhookv1.Delivery_State_value["STATE_"+string(d.State)]),
		Body: string(d.Body), Redelivery: d.Redelivery, CreateTime: timestamppb.New(d.CreateTime)}
	if d.State == webhook.Pending {
		out.NextAttemptTime = timestamppb.New(d.NextAttemptTime)
	}
	if d.CompleteTime != nil {
		out.CompleteTime = timestamppb.New(*d.CompleteTime)
	}
	for _, a := range d.Attempts {
		out.Attempts = append(out.Attempts, &webhookv1.Attempt{AttemptTime: timestamppb.New(a.Time), StatusCode: int32(a.StatusCode),
			Latency: durationpb.New(a.Latency), ResponseExcerpt: a.ResponseExcerpt, Error: a.Error})
	}
	return out
}

// CreateWebhook implements webhookv1.WebhookServiceServer.
func (s *Webhooks) CreateWebhook(ctx context.Context, req *webhookv1.CreateWebhookRequest) (*webhookv1.CreateWebhookResponse, error) {
	in, _ := webhookFromProto(req.GetWebhook())
	w, err := s.svc.Create(ctx, req.GetWebhookId(), in, req.GetWebhook().Active)
	if err != nil {
		return nil, err
	}
	return &webhookv1.CreateWebhookResponse{Webhook: webhookToProto(w)}, nil
}

// GetWebhook implements webhookv1.WebhookServiceServer.
func (s *Webhooks) GetWebhook(ctx context.Context, req *webhookv1.GetWebhookRequest) (*webhookv1.GetWebhookResponse, error) {
	w, err := s.svc.Get(ctx, req.GetName())
	if err != nil {
		return nil, err
	}
	return &webhookv1.GetWebhookResponse{Webhook: webhookToProto(w)}, nil
}

// ListWebhooks implements webhookv1.WebhookServiceServer.
func (s *Webhooks) ListWebhooks(ctx context.Context, req *webhookv1.ListWebhooksRequest) (*webhookv1.ListWebhooksResponse, error) {
	rows, next, err := s.svc.List(ctx, req.GetPageSize(), req.GetPageToken())
	if err != nil {
		return nil, err
	}
	resp := &webhookv1.ListWebhooksResponse{NextPageToken: next}
	for _, w := range rows {
		resp.Webhooks = append(resp.Webhooks, webhookToProto(w))
	}
	return resp, nil
}

// UpdateWebhook implements webhookv1.WebhookServiceServer.
func (s *Webhooks) UpdateWebhook(ctx context.Context, req *webhookv1.UpdateWebhookRequest) (*webhookv1.UpdateWebhookResponse, error) {
	in, etag := webhookFromProto(req.GetWebhook())
	w, err := s.svc.Update(ctx, req.GetWebhook().GetName(), in, etag, req.GetWebhook().Active, req.GetUpdateMask().GetPaths())
	if err != nil {
		return nil, err
	}
	return &webhookv1.UpdateWebhookResponse{Webhook: webhookToProto(w)}, nil
}

// DeleteWebhook implements webhookv1.WebhookServiceServer.
func (s *Webhooks) DeleteWebhook(ctx context.Context, req *webhookv1.DeleteWebhookRequest) (*webhookv1.DeleteWebhookResponse, error) {
	return &webhookv1.DeleteWebhookResponse{}, s.svc.Delete(ctx, req.GetName(), req.GetEtag())
}

// ListDeliveries implements webhookv1.WebhookServiceServer.
func (s *Webhooks) ListDeliveries(ctx context.Context, req *webhookv1.ListDeliveriesRequest) (*webhookv1.ListDeliveriesResponse, error) {
	rows, next, err := s.svc.ListDeliveries(ctx, req.GetParent(), req.GetFilter(), req.GetPageSize(), req.GetPageToken())
	if err != nil {
		return nil, err
	}
	resp := &webhookv1.ListDeliveriesResponse{NextPageToken: next}
	for _, d := range rows {
		resp.Deliveries = append(resp.Deliveries, deliveryToProto(d))
	}
	return resp, nil
}

// RedeliverEvent implements webhookv1.WebhookServiceServer.
func (s *Webhooks) RedeliverEvent(ctx context.Context, req *webhookv1.RedeliverEventRequest) (*webhookv1.RedeliverEventResponse, error) {
	d, err := s.svc.Redeliver(ctx, req.GetDelivery())
	if err != nil {
		return nil, err
	}
	return &webhookv1.RedeliverEventResponse{Delivery: deliveryToProto(d)}, nil
}

// PingWebhook implements webhookv1.WebhookServiceServer.
func (s *Webhooks) PingWebhook(ctx context.Context, req *webhookv1.PingWebhookRequest) (*webhookv1.PingWebhookResponse, error) {
	d, err := s.svc.Ping(ctx, req.GetName())
	if err != nil {
		return nil, err
	}
	return &webhookv1.PingWebhookResponse{Delivery: deliveryToProto(d)}, nil
}
