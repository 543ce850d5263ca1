package server

import (
	"context"
	"fmt"

	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/anypb"
	"google.golang.org/protobuf/types/known/durationpb"
	"google.golang.org/protobuf/types/known/timestamppb"

	analyticsv1 "github.com/kehu-crm/kehu/pkg/api/kehu/analytics/v1"
	"github.com/kehu-crm/kehu/services/analytics/internal/insight"
)

// EncodeReportResult is the insight.ReportCodec: a dashboard's answer as
// its response message in an Any, serialised.
func EncodeReportResult(answer any) ([]byte, error) {
	var m proto.Message
	switch a := answer.(type) {
	case *insight.JourneyMap:
		m = journeyMapToProto(a)
	case *insight.LifecycleFunnel:
		m = lifecycleFunnelToProto(a)
	case *insight.ValueDistribution:
		m = valueDistributionToProto(a)
	case *insight.RfmGrid:
		m = rfmGridToProto(a)
	case *insight.ServiceKpis:
		m = serviceKpisToProto(a)
	case *insight.CohortRetention:
		m = cohortRetentionToProto(a)
	case *insight.CareAndFollowUp:
		m = careAndFollowUpToProto(a)
	default:
		return nil, fmt.Errorf("no message for a %T report result", answer)
	}
	wrapped, err := anypb.New(m)
	if err != nil {
		return nil, err
	}
	return proto.Marshal(wrapped)
}

func reportToProto(r *insight.Report) *analyticsv1.Report {
	out := &analyticsv1.Report{Name: insight.ReportName(r.ID), DisplayName: r.DisplayName, Dashboard: r.Dashboard, Period: durationpb.New(r.Period),
		Segment: r.Segment, AccountManager: r.AccountManager, Granularity: r.Granularity, CurrencyCode: r.Currency,
		Schedule: r.Schedule, TimeZone: r.TimeZone, Creator: r.Creator, NextRunTime: timestamppb.New(r.NextRunTime),
		CreateTime: timestamppb.New(r.CreateTime), Etag: r.Etag()}
	if r.LastRunTime != nil {
		out.LastRunTime = timestamppb.New(*r.LastRunTime)
	}
	if len(r.LastResult) > 0 {
		var result anypb.Any
		if proto.Unmarshal(r.LastResult, &result) == nil {
			out.LastResult = &result
		}
	}
	return out
}

func reportFromProto(r *analyticsv1.Report) *insight.Report {
	if r == nil {
		return nil
	}
	return &insight.Report{DisplayName: r.GetDisplayName(), Dashboard: r.GetDashboard(), Period: r.GetPeriod().AsDuration(),
		Segment: r.GetSegment(), AccountManager: r.GetAccountManager(), Granularity: r.GetGranularity(), Currency: r.GetCurrencyCode(),
		Schedule: r.GetSchedule(), TimeZone: r.GetTimeZone()}
}

// CreateReport implements analyticsv1.AnalyticsServiceServer.
func (s *Server) CreateReport(ctx context.Context, req *analyticsv1.CreateReportRequest) (*analyticsv1.CreateReportResponse, error) {
	r, err := s.svc.CreateReport(ctx, req.GetReportId(), reportFromProto(req.GetReport()))
	if err != nil {
		return nil, err
	}
	return &analyticsv1.CreateReportResponse{Report: reportToProto(r)}, nil
}

// GetReport implements analyticsv1.AnalyticsServiceServer.
func (s *Server) GetReport(ctx context.Context, req *analyticsv1.GetReportRequest) (*analyticsv1.GetReportResponse, error) {
	r, err := s.svc.GetReport(ctx, req.GetName())
	if err != nil {
		return nil, err
	}
	return &analyticsv1.GetReportResponse{Report: reportToProto(r)}, nil
}

// ListReports implements analyticsv1.AnalyticsServiceServer.
func (s *Server) ListReports(ctx context.Context, req *analyticsv1.ListReportsRequest) (*analyticsv1.ListReportsResponse, error) {
	rows, next, err := s.svc.ListReports(ctx, req.GetPageSize(), req.GetPageToken())
	if err != nil {
		return nil, err
	}
	resp := &analyticsv1.ListReportsResponse{NextPageToken: next}
	for _, r := range rows {
		resp.Reports = append(resp.Reports, reportToProto(r))
	}
	return resp, nil
}

// DeleteReport implements analyticsv1.AnalyticsServiceServer.
func (s *Server) DeleteReport(ctx context.Context, req *analyticsv1.DeleteReportRequest) (*analyticsv1.DeleteReportResponse, error) {
	return &analyticsv1.DeleteReportResponse{}, s.svc.DeleteReport(ctx, req.GetName(), req.GetEtag())
}

// RunReport implements analyticsv1.AnalyticsServiceServer.
func (s *Server) RunReport(ctx context.Context, req *analyticsv1.RunReportRequest) (*analyticsv1.RunReportResponse, error) {
	r, err := s.svc.RunReport(ctx, req.GetName())
	if err != nil {
		return nil, err
	}
	return &analyticsv1.RunReportResponse{Report: reportToProto(r)}, nil
}
