package server

import (
	"fmt"

	"google.golang.org/protobuf/proto"

	analyticsv1 "github.com/kehu-crm/kehu/pkg/api/kehu/analytics/v1"
	webhookv1 "github.com/kehu-crm/kehu/pkg/api/kehu/webhook/v1"
	"github.com/kehu-crm/kehu/pkg/event"
	"github.com/kehu-crm/kehu/services/analytics/internal/insight"
	"github.com/kehu-crm/kehu/services/analytics/internal/webhook"
)

// EncodeEvent turns a domain event into its published payload.
func EncodeEvent(e event.Event) (proto.Message, error) {
	switch d := e.Data.(type) {
	case insight.Churn:
		return &analyticsv1.ChurnWarningPayload{Customer: &analyticsv1.AtRiskCustomer{
			Customer: insight.CustomerName(d.CustomerID), ChurnRisk: &analyticsv1.ChurnRisk{Score: int32(d.Score), Reasons: d.Reasons},
			ValueAtRisk: &analyticsv1.Money{Amount: d.ValueAtRisk}, AccountManager: d.AccountManager,
		}}, nil
	case insight.ReportCompleted:
		return &analyticsv1.ReportCompletedPayload{Report: reportToProto(d.Report)}, nil
	case webhook.Disabled:
		return &webhookv1.WebhookDisabledPayload{Webhook: webhookToProto(d.Webhook)}, nil
	case insight.Change:
		return &analyticsv1.SegmentMembershipPayload{Segment: insight.SegmentName(d.SegmentID), Customer: insight.CustomerName(d.CustomerID)}, nil
	}
	return nil, fmt.Errorf("no payload for %s event data %T", e.Type, e.Data)
}
