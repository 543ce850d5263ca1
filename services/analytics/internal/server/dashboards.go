package server

import (
	"context"
	"time"

	"google.golang.org/protobuf/types/known/durationpb"
	"google.golang.org/protobuf/types/known/timestamppb"

	analyticsv1 "github.com/kehu-crm/kehu/pkg/api/kehu/analytics/v1"
	"github.com/kehu-crm/kehu/services/analytics/internal/insight"
)

// optionalTime is a request's timestamp, nil when unset.
func optionalTime(t *timestamppb.Timestamp) *time.Time {
	if t == nil {
		return nil
	}
	v := t.AsTime()
	return &v
}

// GetValueDistribution implements analyticsv1.AnalyticsServiceServer.
func (s *Server) GetValueDistribution(ctx context.Context, req *analyticsv1.GetValueDistributionRequest) (*analyticsv1.GetValueDistributionResponse, error) {
	d, err := s.svc.GetValueDistribution(ctx, insight.DashboardRequest{Start: optionalTime(req.GetStartTime()), End: optionalTime(req.GetEndTime()),
		Segment: req.GetSegment(), AccountManager: req.GetAccountManager()})
	if err != nil {
		return nil, err
	}
	return &analyticsv1.GetValueDistributionResponse{ValueDistribution: valueDistributionToProto(d)}, nil
}

func valueDistributionToProto(d *insight.ValueDistribution) *analyticsv1.ValueDistribution {
	out := &analyticsv1.ValueDistribution{StartTime: timestamppb.New(d.Start), EndTime: timestamppb.New(d.End)}
	for _, c := range d.Currencies {
		pc := &analyticsv1.CurrencyValueDistribution{CurrencyCode: c.Currency, Customers: c.Customers, Revenue: c.Revenue}
		for _, p := range c.Pareto {
			pc.Pareto = append(pc.Pareto, &analyticsv1.ParetoPoint{CustomerPercent: p.CustomerPercent, RevenuePercent: p.RevenuePercent})
		}
		for _, t := range c.Tiers {
			pc.Tiers = append(pc.Tiers, &analyticsv1.TierShare{Tier: t.Tier, ValueLevel: t.ValueLevel, Customers: t.Customers,
				Revenue: t.Revenue, RevenuePercent: t.RevenuePercent})
		}
		out.Currencies = append(out.Currencies, pc)
	}
	return out
}

// GetRfmGrid implements analyticsv1.AnalyticsServiceServer.
func (s *Server) GetRfmGrid(ctx context.Context, req *analyticsv1.GetRfmGridRequest) (*analyticsv1.GetRfmGridResponse, error) {
	g, err := s.svc.GetRfmGrid(ctx, insight.DashboardRequest{Start: optionalTime(req.GetStartTime()), End: optionalTime(req.GetEndTime()),
		Segment: req.GetSegment(), AccountManager: req.GetAccountManager(), Currency: req.GetCurrencyCode()})
	if err != nil {
		return nil, err
	}
	return &analyticsv1.GetRfmGridResponse{RfmGrid: rfmGridToProto(g)}, nil
}

func rfmGridToProto(g *insight.RfmGrid) *analyticsv1.RfmGrid {
	out := &analyticsv1.RfmGrid{StartTime: timestamppb.New(g.Start), EndTime: timestamppb.New(g.End), CurrencyCode: g.Currency, Customers: g.Customers}
	for _, c := range g.Cells {
		out.Cells = append(out.Cells, &analyticsv1.RfmCell{Recency: int32(c.Recency), Frequency: int32(c.Frequency), Customers: c.Customers,
			AverageMonetary: c.AverageMonetary, AverageMonetaryScore: c.AverageMonetaryScore})
	}
	for _, l := range g.Labels {
		out.Labels = append(out.Labels, &analyticsv1.RfmLabelCount{Label: l.Label, Customers: l.Customers})
	}
	return out
}

// GetCohortRetention implements analyticsv1.AnalyticsServiceServer.
func (s *Server) GetCohortRetention(ctx context.Context, req *analyticsv1.GetCohortRetentionRequest) (*analyticsv1.GetCohortRetentionResponse, error) {
	r, err := s.svc.GetCohortRetention(ctx, insight.DashboardRequest{Start: optionalTime(req.GetStartTime()), End: optionalTime(req.GetEndTime()),
		Segment: req.GetSegment(), AccountManager: req.GetAccountManager()})
	if err != nil {
		return nil, err
	}
	return &analyticsv1.GetCohortRetentionResponse{CohortRetention: cohortRetentionToProto(r)}, nil
}

func cohortRetentionToProto(r *insight.CohortRetention) *analyticsv1.CohortRetention {
	out := &analyticsv1.CohortRetention{StartTime: timestamppb.New(r.Start), EndTime: timestamppb.New(r.End)}
	for _, c := range r.Cohorts {
		pc := &analyticsv1.Cohort{Month: c.Month, Customers: c.Customers}
		for _, m := range c.Months {
			pc.Months = append(pc.Months, &analyticsv1.CohortMonth{Offset: int32(m.Offset), Customers: m.Customers, Percent: m.Percent})
		}
		out.Cohorts = append(out.Cohorts, pc)
	}
	return out
}

// GetJourneyMap implements analyticsv1.AnalyticsServiceServer.
func (s *Server) GetJourneyMap(ctx context.Context, req *analyticsv1.GetJourneyMapRequest) (*analyticsv1.GetJourneyMapResponse, error) {
	m, err := s.svc.GetJourneyMap(ctx, insight.DashboardRequest{Start: optionalTime(req.GetStartTime()), End: optionalTime(req.GetEndTime()),
		Segment: req.GetSegment(), AccountManager: req.GetAccountManager()})
	if err != nil {
		return nil, err
	}
	return &analyticsv1.GetJourneyMapResponse{JourneyMap: journeyMapToProto(m)}, nil
}

func journeyMapToProto(m *insight.JourneyMap) *analyticsv1.JourneyMap {
	out := &analyticsv1.JourneyMap{StartTime: timestamppb.New(m.Start), EndTime: timestamppb.New(m.End)}
	for _, c := range m.Cells {
		cell := &analyticsv1.JourneyCell{Stage: c.Stage, Touchpoint: "touchpoints/" + c.Touchpoint, Interactions: c.Interactions, Customers: c.Customers,
			Converted: c.Converted, ConversionPercent: c.ConversionPercent, AverageSatisfaction: c.AverageSatisfaction, ComplaintPercent: c.ComplaintPercent}
		if c.Converted > 0 {
			cell.MedianTimeToConvert = durationpb.New(c.MedianTimeToConvert)
		}
		out.Cells = append(out.Cells, cell)
	}
	return out
}

// GetServiceKpis implements analyticsv1.AnalyticsServiceServer.
func (s *Server) GetServiceKpis(ctx context.Context, req *analyticsv1.GetServiceKpisRequest) (*analyticsv1.GetServiceKpisResponse, error) {
	k, err := s.svc.GetServiceKpis(ctx, insight.DashboardRequest{Start: optionalTime(req.GetStartTime()), End: optionalTime(req.GetEndTime()),
		Segment: req.GetSegment(), AccountManager: req.GetAccountManager(), Granularity: req.GetGranularity()})
	if err != nil {
		return nil, err
	}
	return &analyticsv1.GetServiceKpisResponse{ServiceKpis: serviceKpisToProto(k)}, nil
}

func serviceKpisToProto(k *insight.ServiceKpis) *analyticsv1.ServiceKpis {
	out := &analyticsv1.ServiceKpis{StartTime: timestamppb.New(k.Start), EndTime: timestamppb.New(k.End)}
	for _, p := range k.Points {
		point := &analyticsv1.ServiceKpiPoint{Bucket: p.Bucket, Opened: p.Opened, Resolved: p.Resolved,
			SlaMet: p.SLAMet, SlaBreached: p.SLABreached, SlaCompliancePercent: p.SLACompliancePercent,
			MedianFirstResponse: durationpb.New(p.MedianFirstResponse), MedianResolution: durationpb.New(p.MedianResolution),
			CsatAnswers: p.CSATAnswers, CsatAverage: p.CSATAverage, NpsAnswers: p.NPSAnswers, Nps: p.NPS,
			ComplaintsPerThousandCustomers: p.ComplaintsPerThousand}
		if p.PerQueue {
			point.Queue = "queues/" + p.Queue
		}
		out.Points = append(out.Points, point)
	}
	return out
}

func funnelFlow(f insight.FunnelFlow) *analyticsv1.FunnelFlow {
	return &analyticsv1.FunnelFlow{Entered: f.Entered, Converted: f.Converted, ConversionPercent: f.ConversionPercent,
		Dropped: f.Dropped, DropOffPercent: f.DropOffPercent, MedianTimeInStage: durationpb.New(f.MedianTimeInStage)}
}

// GetLifecycleFunnel implements analyticsv1.AnalyticsServiceServer.
func (s *Server) GetLifecycleFunnel(ctx context.Context, req *analyticsv1.GetLifecycleFunnelRequest) (*analyticsv1.GetLifecycleFunnelResponse, error) {
	f, err := s.svc.GetLifecycleFunnel(ctx, insight.DashboardRequest{Start: optionalTime(req.GetStartTime()), End: optionalTime(req.GetEndTime()),
		Segment: req.GetSegment(), AccountManager: req.GetAccountManager()})
	if err != nil {
		return nil, err
	}
	return &analyticsv1.GetLifecycleFunnelResponse{LifecycleFunnel: lifecycleFunnelToProto(f)}, nil
}

func lifecycleFunnelToProto(f *insight.LifecycleFunnel) *analyticsv1.LifecycleFunnel {
	out := &analyticsv1.LifecycleFunnel{StartTime: timestamppb.New(f.Start), EndTime: timestamppb.New(f.End), PreviousStartTime: timestamppb.New(f.PreviousStart)}
	for _, st := range f.Stages {
		out.Stages = append(out.Stages, &analyticsv1.FunnelStage{Stage: st.Stage, CustomersAtEnd: st.CustomersAtEnd,
			Current: funnelFlow(st.Current), Previous: funnelFlow(st.Previous)})
	}
	return out
}

func followUpCounts(c insight.FollowUpCounts, key string) *analyticsv1.FollowUpCounts {
	return &analyticsv1.FollowUpCounts{Key: key, Due: c.Due, Completed: c.Completed, Missed: c.Missed, Cancelled: c.Cancelled,
		Planned: c.Planned, CompletionPercent: c.CompletionPercent}
}

// GetCareAndFollowUp implements analyticsv1.AnalyticsServiceServer.
func (s *Server) GetCareAndFollowUp(ctx context.Context, req *analyticsv1.GetCareAndFollowUpRequest) (*analyticsv1.GetCareAndFollowUpResponse, error) {
	d, err := s.svc.GetCareAndFollowUp(ctx, insight.DashboardRequest{Start: optionalTime(req.GetStartTime()), End: optionalTime(req.GetEndTime()),
		Segment: req.GetSegment(), AccountManager: req.GetAccountManager()})
	if err != nil {
		return nil, err
	}
	return &analyticsv1.GetCareAndFollowUpResponse{CareAndFollowUp: careAndFollowUpToProto(d)}, nil
}

func careAndFollowUpToProto(d *insight.CareAndFollowUp) *analyticsv1.CareAndFollowUp {
	out := &analyticsv1.CareAndFollowUp{StartTime: timestamppb.New(d.Start), EndTime: timestamppb.New(d.End)}
	for _, c := range d.Assignees {
		out.Assignees = append(out.Assignees, followUpCounts(c, c.Key))
	}
	for _, c := range d.CareRules {
		out.CareRules = append(out.CareRules, followUpCounts(c, "careRules/"+c.Key))
	}
	return out
}
