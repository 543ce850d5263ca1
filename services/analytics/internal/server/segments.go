package server

import (
	"context"
	"time"

	"google.golang.org/protobuf/types/known/timestamppb"

	analyticsv1 "github.com/kehu-crm/kehu/pkg/api/kehu/analytics/v1"
	eventv1 "github.com/kehu-crm/kehu/pkg/api/kehu/event/v1"
	"github.com/kehu-crm/kehu/pkg/errs"
	"github.com/kehu-crm/kehu/services/analytics/internal/insight"
)

func segmentToDomain(p *analyticsv1.Segment) *insight.Segment {
	if p == nil {
		return nil
	}
	return &insight.Segment{DisplayName: p.GetDisplayName(), Description: p.GetDescription(), Filter: p.GetFilter()}
}

func segmentToProto(g *insight.Segment) *analyticsv1.Segment {
	return &analyticsv1.Segment{
		Name: insight.SegmentName(g.ID), DisplayName: g.DisplayName, Description: g.Description, Filter: g.Filter,
		Builtin: g.Builtin, Personal: g.Personal, MemberCount: g.Members, CreateTime: timestamppb.New(g.CreateTime), UpdateTime: timestamppb.New(g.UpdateTime),
		Etag: g.Etag(),
	}
}

// CreateSegment implements analyticsv1.AnalyticsServiceServer.
func (s *Server) CreateSegment(ctx context.Context, req *analyticsv1.CreateSegmentRequest) (*analyticsv1.CreateSegmentResponse, error) {
	out, err := s.svc.CreateSegment(ctx, req.GetSegmentId(), segmentToDomain(req.GetSegment()))
	if err != nil {
		return nil, err
	}
	return &analyticsv1.CreateSegmentResponse{Segment: segmentToProto(out)}, nil
}

// GetSegment implements analyticsv1.AnalyticsServiceServer.
func (s *Server) GetSegment(ctx context.Context, req *analyticsv1.GetSegmentRequest) (*analyticsv1.GetSegmentResponse, error) {
	out, err := s.svc.GetSegment(ctx, req.GetName())
	if err != nil {
		return nil, err
	}
	return &analyticsv1.GetSegmentResponse{Segment: segmentToProto(out)}, nil
}

// ListSegments implements analyticsv1.AnalyticsServiceServer.
func (s *Server) ListSegments(ctx context.Context, req *analyticsv1.ListSegmentsRequest) (*analyticsv1.ListSegmentsResponse, error) {
	rows, next, err := s.svc.ListSegments(ctx, req.GetPageSize(), req.GetPageToken())
	if err != nil {
		return nil, err
	}
	resp := &analyticsv1.ListSegmentsResponse{NextPageToken: next}
	for _, g := range rows {
		resp.Segments = append(resp.Segments, segmentToProto(g))
	}
	return resp, nil
}

// UpdateSegment implements analyticsv1.AnalyticsServiceServer.
func (s *Server) UpdateSegment(ctx context.Context, req *analyticsv1.UpdateSegmentRequest) (*analyticsv1.UpdateSegmentResponse, error) {
	out, err := s.svc.UpdateSegment(ctx, req.GetSegment().GetName(), req.GetSegment().GetEtag(), segmentToDomain(req.GetSegment()), req.GetUpdateMask().GetPaths())
	if err != nil {
		return nil, err
	}
	return &analyticsv1.UpdateSegmentResponse{Segment: segmentToProto(out)}, nil
}

// DeleteSegment implements analyticsv1.AnalyticsServiceServer.
func (s *Server) DeleteSegment(ctx context.Context, req *analyticsv1.DeleteSegmentRequest) (*analyticsv1.DeleteSegmentResponse, error) {
	if err := s.svc.DeleteSegment(ctx, req.GetName(), req.GetEtag()); err != nil {
		return nil, err
	}
	return &analyticsv1.DeleteSegmentResponse{}, nil
}

// GetCustomerSegments implements analyticsv1.AnalyticsServiceServer.
func (s *Server) GetCustomerSegments(ctx context.Context, req *analyticsv1.GetCustomerSegmentsRequest) (*analyticsv1.GetCustomerSegmentsResponse, error) {
	ids, err := s.svc.GetCustomerSegments(ctx, req.GetCustomer())
	if err != nil {
		return nil, err
	}
	resp := &analyticsv1.GetCustomerSegmentsResponse{Segments: make([]string, len(ids))}
	for n, id := range ids {
		resp.Segments[n] = insight.SegmentName(id)
	}
	return resp, nil
}

// CheckMembership implements analyticsv1.AnalyticsServiceServer.
func (s *Server) CheckMembership(ctx context.Context, req *analyticsv1.CheckMembershipRequest) (*analyticsv1.CheckMembershipResponse, error) {
	member, err := s.svc.CheckMembership(ctx, req.GetCustomer(), req.GetSegment())
	if err != nil {
		return nil, err
	}
	return &analyticsv1.CheckMembershipResponse{Member: member}, nil
}

// ListSegmentMembers implements analyticsv1.AnalyticsServiceServer.
func (s *Server) ListSegmentMembers(ctx context.Context, req *analyticsv1.ListSegmentMembersRequest) (*analyticsv1.ListSegmentMembersResponse, error) {
	ids, next, err := s.svc.ListSegmentMembers(ctx, req.GetParent(), req.GetPageSize(), req.GetPageToken())
	if err != nil {
		return nil, err
	}
	resp := &analyticsv1.ListSegmentMembersResponse{NextPageToken: next, Customers: make([]string, len(ids))}
	for n, id := range ids {
		resp.Customers[n] = insight.CustomerName(id)
	}
	return resp, nil
}

// StreamEvents implements analyticsv1.AnalyticsServiceServer.
func (s *Server) StreamEvents(req *analyticsv1.StreamEventsRequest, stream analyticsv1.AnalyticsService_StreamEventsServer) error {
	if req.GetAfterSequence() < 0 {
		return errs.InvalidField("after_sequence", "must not be negative")
	}
	return s.events.Stream(stream.Context(), req.GetAfterSequence(), func(e *eventv1.Event) error {
		return stream.Send(&analyticsv1.StreamEventsResponse{Event: e})
	})
}

// BatchGetCustomerSegments implements analyticsv1.AnalyticsServiceServer.
func (s *Server) BatchGetCustomerSegments(ctx context.Context, req *analyticsv1.BatchGetCustomerSegmentsRequest) (*analyticsv1.BatchGetCustomerSegmentsResponse, error) {
	all, err := s.svc.BatchGetCustomerSegments(ctx, req.GetCustomers())
	if err != nil {
		return nil, err
	}
	resp := &analyticsv1.BatchGetCustomerSegmentsResponse{Results: make([]*analyticsv1.CustomerSegments, len(all))}
	for i, ids := range all {
		r := &analyticsv1.CustomerSegments{Customer: req.GetCustomers()[i], Segments: make([]string, len(ids))}
		for n, id := range ids {
			r.Segments[n] = insight.SegmentName(id)
		}
		resp.Results[i] = r
	}
	return resp, nil
}

// BatchCheckMembership implements analyticsv1.AnalyticsServiceServer.
func (s *Server) BatchCheckMembership(ctx context.Context, req *analyticsv1.BatchCheckMembershipRequest) (*analyticsv1.BatchCheckMembershipResponse, error) {
	member, err := s.svc.BatchCheckMembership(ctx, req.GetSegment(), req.GetCustomers())
	if err != nil {
		return nil, err
	}
	resp := &analyticsv1.BatchCheckMembershipResponse{Results: make([]*analyticsv1.MembershipCheck, len(member))}
	for i, m := range member {
		resp.Results[i] = &analyticsv1.MembershipCheck{Customer: req.GetCustomers()[i], Member: m}
	}
	return resp, nil
}

// ListSegmentSizes implements analyticsv1.AnalyticsServiceServer.
func (s *Server) ListSegmentSizes(ctx context.Context, req *analyticsv1.ListSegmentSizesRequest) (*analyticsv1.ListSegmentSizesResponse, error) {
	sizes, next, err := s.svc.ListSegmentSizes(ctx, req.GetParent(), req.GetPageSize(), req.GetPageToken())
	if err != nil {
		return nil, err
	}
	resp := &analyticsv1.ListSegmentSizesResponse{NextPageToken: next, Sizes: make([]*analyticsv1.SegmentSize, len(sizes))}
	for i, z := range sizes {
		resp.Sizes[i] = &analyticsv1.SegmentSize{Date: z.Date.Format(time.DateOnly), MemberCount: z.Members}
	}
	return resp, nil
}
