// Package server is the analytics service's gRPC transport: thin handlers
// converting between protobuf and the insight domain.
package server

import (
	"context"
	"sort"
	"time"

	"google.golang.org/protobuf/types/known/durationpb"
	"google.golang.org/protobuf/types/known/timestamppb"

	analyticsv1 "github.com/kehu-crm/kehu/pkg/api/kehu/analytics/v1"
	"github.com/kehu-crm/kehu/pkg/outbox"
	"github.com/kehu-crm/kehu/services/analytics/internal/insight"
)

// Server implements analyticsv1.AnalyticsServiceServer.
type Server struct {
	analyticsv1.UnimplementedAnalyticsServiceServer
	svc    *insight.Service
	events *outbox.Streamer
}

var _ analyticsv1.AnalyticsServiceServer = (*Server)(nil)

// New returns the handlers.
func New(svc *insight.Service, events *outbox.Streamer) *Server {
	return &Server{svc: svc, events: events}
}

// GetCustomerInsights implements analyticsv1.AnalyticsServiceServer.
func (s *Server) GetCustomerInsights(ctx context.Context, req *analyticsv1.GetCustomerInsightsRequest) (*analyticsv1.GetCustomerInsightsResponse, error) {
	in, err := s.svc.GetCustomerInsights(ctx, req.GetCustomer())
	if err != nil {
		return nil, err
	}
	return &analyticsv1.GetCustomerInsightsResponse{Insights: insightsToProto(req.GetCustomer(), in)}, nil
}

// RecomputeAll implements analyticsv1.AnalyticsServiceServer.
func (s *Server) RecomputeAll(ctx context.Context, _ *analyticsv1.RecomputeAllRequest) (*analyticsv1.RecomputeAllResponse, error) {
	n, took, err := s.svc.RecomputeAll(ctx)
	if err != nil {
		return nil, err
	}
	return &analyticsv1.RecomputeAllResponse{CustomersScored: n, Duration: durationpb.New(took)}, nil
}

// ListAtRiskCustomers implements analyticsv1.AnalyticsServiceServer.
func (s *Server) ListAtRiskCustomers(ctx context.Context, req *analyticsv1.ListAtRiskCustomersRequest) (*analyticsv1.ListAtRiskCustomersResponse, error) {
	rows, next, err := s.svc.ListAtRiskCustomers(ctx, req.GetAccountManager(), req.GetPageSize(), req.GetPageToken())
	if err != nil {
		return nil, err
	}
	resp := &analyticsv1.ListAtRiskCustomersResponse{NextPageToken: next}
	for _, c := range rows {
		resp.Customers = append(resp.Customers, s.atRisk(c))
	}
	return resp, nil
}

func (s *Server) atRisk(c insight.Churn) *analyticsv1.AtRiskCustomer {
	return &analyticsv1.AtRiskCustomer{
		Customer: insight.CustomerName(c.CustomerID), ChurnRisk: &analyticsv1.ChurnRisk{Score: int32(c.Score), Reasons: c.Reasons},
		ValueAtRisk: &analyticsv1.Money{CurrencyCode: s.svc.Currency(), Amount: c.ValueAtRisk}, AccountManager: c.AccountManager,
	}
}

func ts(t *time.Time) *timestamppb.Timestamp {
	if t == nil {
		return nil
	}
	return timestamppb.New(*t)
}

func class(c insight.Class) *analyticsv1.Class {
	return &analyticsv1.Class{Value: c.Value, Reasons: c.Reasons}
}

func insightsToProto(name string, in *insight.Insights) *analyticsv1.Insights {
	f := in.Facts
	facts := &analyticsv1.Facts{
		FirstPurchaseTime: ts(f.FirstPurchase), LastPurchaseTime: ts(f.LastPurchase),
		LastContactTime: ts(f.LastContact), OpenTickets: f.OpenTickets, Complaints_90D: f.Complaints90d,
		AverageCsat: f.AverageCSAT, LastNps: int32(f.LastNPS), LoyaltyPoints: f.Customer.Points,
		LifecycleStage: f.Customer.Stage,
	}
	if f.DaysSincePurchase >= 0 {
		facts.DaysSinceLastPurchase = int32(f.DaysSincePurchase)
	}
	if f.AverageInterval > 0 {
		facts.AveragePurchaseInterval = durationpb.New(f.AverageInterval)
	}
	for _, p := range f.Purchases {
		money := func(a string) *analyticsv1.Money { return &analyticsv1.Money{CurrencyCode: p.Currency, Amount: a} }
		facts.Purchases = append(facts.Purchases, &analyticsv1.PurchaseFacts{
			CurrencyCode: p.Currency, Count_90D: p.Count90d, Count_12M: p.Count12m, CountLifetime: p.CountLifetime,
			Amount_90D: money(p.Amount90d), Amount_12M: money(p.Amount12m), AmountLifetime: money(p.AmountTotal),
			Refunds_12M: p.Refunds12m, Refunded_12M: money(p.Refunded12m),
		})
	}
	channels := make([]string, 0, len(f.ByChannel))
	for c := range f.ByChannel {
		channels = append(channels, c)
	}
	sort.Strings(channels)
	for _, c := range channels {
		facts.InteractionsByChannel = append(facts.InteractionsByChannel, &analyticsv1.ChannelCount{Channel: c, Count: f.ByChannel[c]})
	}
	out := &analyticsv1.Insights{
		Customer: name, Facts: facts,
		Rfm:       &analyticsv1.Rfm{Recency: int32(in.Scores.Recency), Frequency: int32(in.Scores.Frequency), Monetary: int32(in.Scores.Monetary), Label: in.RFMLabel},
		ValueTier: class(in.ValueTier), ValueLevel: in.ValueLevel,
		Satisfaction: class(in.Satisfaction), Behaviour: class(in.Behaviour), ValueTrend: class(in.Trend),
		ChurnRisk: &analyticsv1.ChurnRisk{Score: int32(in.ChurnScore), Reasons: in.ChurnReasons},
		Needs:     f.Customer.Needs, PriceSensitivity: f.Customer.PriceSensitivity,
	}
	if !in.Scores.Time.IsZero() {
		out.Rfm.ScoreTime = timestamppb.New(in.Scores.Time)
	}
	return out
}
