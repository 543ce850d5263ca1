package server

import (
	"context"

	"google.golang.org/protobuf/types/known/timestamppb"

	customerv1 "github.com/kehu-crm/kehu/pkg/api/kehu/customer/v1"
	"github.com/kehu-crm/kehu/services/customer/internal/savedview"
)

// CreateSavedView implements customerv1.CustomerServiceServer.
func (s *Server) CreateSavedView(ctx context.Context, req *customerv1.CreateSavedViewRequest) (*customerv1.CreateSavedViewResponse, error) {
	out, err := s.views.Create(ctx, viewToDomain(req.GetSavedView()), req.GetRequestId())
	if err != nil {
		return nil, err
	}
	return &customerv1.CreateSavedViewResponse{SavedView: viewToProto(out)}, nil
}

// GetSavedView implements customerv1.CustomerServiceServer.
func (s *Server) GetSavedView(ctx context.Context, req *customerv1.GetSavedViewRequest) (*customerv1.GetSavedViewResponse, error) {
	out, err := s.views.Get(ctx, req.GetName())
	if err != nil {
		return nil, err
	}
	return &customerv1.GetSavedViewResponse{SavedView: viewToProto(out)}, nil
}

// ListSavedViews implements customerv1.CustomerServiceServer.
func (s *Server) ListSavedViews(ctx context.Context, req *customerv1.ListSavedViewsRequest) (*customerv1.ListSavedViewsResponse, error) {
	p, err := s.views.List(ctx, req.GetPageSize(), req.GetPageToken())
	if err != nil {
		return nil, err
	}
	out := &customerv1.ListSavedViewsResponse{NextPageToken: p.NextPageToken}
	for _, v := range p.Views {
		out.SavedViews = append(out.SavedViews, viewToProto(v))
	}
	return out, nil
}

// UpdateSavedView implements customerv1.CustomerServiceServer.
func (s *Server) UpdateSavedView(ctx context.Context, req *customerv1.UpdateSavedViewRequest) (*customerv1.UpdateSavedViewResponse, error) {
	out, err := s.views.Update(ctx, savedview.UpdateInput{
		Name: req.GetSavedView().GetName(), View: viewToDomain(req.GetSavedView()), Etag: req.GetSavedView().GetEtag(),
		Paths: req.GetUpdateMask().GetPaths(), RequestID: req.GetRequestId(),
	})
	if err != nil {
		return nil, err
	}
	return &customerv1.UpdateSavedViewResponse{SavedView: viewToProto(out)}, nil
}

// DeleteSavedView implements customerv1.CustomerServiceServer.
func (s *Server) DeleteSavedView(ctx context.Context, req *customerv1.DeleteSavedViewRequest) (*customerv1.DeleteSavedViewResponse, error) {
	if err := s.views.Delete(ctx, req.GetName(), req.GetEtag()); err != nil {
		return nil, err
	}
	return &customerv1.DeleteSavedViewResponse{}, nil
}

// viewToDomain reads the caller-set fields of v; nil stays nil for the
// domain to report.
func viewToDomain(v *customerv1.SavedView) *savedview.View {
	if v == nil {
		return nil
	}
	return &savedview.View{
		DisplayName: v.GetDisplayName(), Filter: v.GetFilter(), Query: v.GetQuery(), OrderBy: v.GetOrderBy(), Columns: v.GetColumns(),
	}
}

func viewToProto(v *savedview.View) *customerv1.SavedView {
	return &customerv1.SavedView{
		Name: v.Name(), DisplayName: v.DisplayName, Filter: v.Filter, Query: v.Query, OrderBy: v.OrderBy, Columns: v.Columns,
		Owner: v.Owner, CreateTime: timestamppb.New(v.CreateTime), UpdateTime: timestamppb.New(v.UpdateTime), Etag: v.Etag(),
	}
}
