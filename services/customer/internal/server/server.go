// Package server is the customer service's gRPC transport: thin handlers
// that convert protobuf requests to domain inputs, call the customer
// package, and convert results back. Validation and rules live in the
// domain; errors are mapped to gRPC statuses by the server runner.
package server

import (
	"context"

	customerv1 "github.com/kehu-crm/kehu/pkg/api/kehu/customer/v1"
	eventv1 "github.com/kehu-crm/kehu/pkg/api/kehu/event/v1"
	"github.com/kehu-crm/kehu/pkg/errs"
	"github.com/kehu-crm/kehu/pkg/importstream"
	"github.com/kehu-crm/kehu/pkg/outbox"
	"github.com/kehu-crm/kehu/pkg/protoenum"
	"github.com/kehu-crm/kehu/pkg/resource"
	"github.com/kehu-crm/kehu/services/customer/internal/customer"
	"github.com/kehu-crm/kehu/services/customer/internal/savedview"
)

// Server implements customerv1.CustomerServiceServer.
type Server struct {
	customerv1.UnimplementedCustomerServiceServer
	svc    *customer.Service
	views  *savedview.Service
	events *outbox.Streamer
	limits importstream.Limits
}

// New returns the handlers over svc and views, streaming events from events.
func New(svc *customer.Service, views *savedview.Service, events *outbox.Streamer, limits importstream.Limits) *Server {
	return &Server{svc: svc, views: views, events: events, limits: limits}
}

// CreateCustomer implements customerv1.CustomerServiceServer.
func (s *Server) CreateCustomer(ctx context.Context, req *customerv1.CreateCustomerRequest) (*customerv1.CreateCustomerResponse, error) {
	c, err := customerToDomain(req.GetCustomer(), "customer")
	if err != nil {
		return nil, err
	}
	out, err := s.svc.Create(ctx, customer.CreateInput{Customer: c, RequestID: req.GetRequestId(), AllowDuplicates: req.GetAllowDuplicates()})
	if err != nil {
		return nil, err
	}
	return &customerv1.CreateCustomerResponse{Customer: customerToProto(out)}, nil
}

// GetCustomer implements customerv1.CustomerServiceServer.
func (s *Server) GetCustomer(ctx context.Context, req *customerv1.GetCustomerRequest) (*customerv1.GetCustomerResponse, error) {
	out, err := s.svc.Get(ctx, req.GetName())
	if err != nil {
		return nil, err
	}
	return &customerv1.GetCustomerResponse{Customer: customerToProto(out)}, nil
}

// BatchGetCustomers implements customerv1.CustomerServiceServer.
func (s *Server) BatchGetCustomers(ctx context.Context, req *customerv1.BatchGetCustomersRequest) (*customerv1.BatchGetCustomersResponse, error) {
	out, err := s.svc.BatchGet(ctx, req.GetNames())
	if err != nil {
		return nil, err
	}
	return &customerv1.BatchGetCustomersResponse{Customers: customersToProto(out)}, nil
}

// ListCustomers implements customerv1.CustomerServiceServer.
func (s *Server) ListCustomers(ctx context.Context, req *customerv1.ListCustomersRequest) (*customerv1.ListCustomersResponse, error) {
	p, err := s.svc.List(ctx, customer.ListInput{
		PageSize: req.GetPageSize(), PageToken: req.GetPageToken(), Filter: req.GetFilter(),
		OrderBy: req.GetOrderBy(), ShowDeleted: req.GetShowDeleted(),
	})
	if err != nil {
		return nil, err
	}
	return &customerv1.ListCustomersResponse{Customers: customersToProto(p.Customers), NextPageToken: p.NextPageToken}, nil
}

// SearchCustomers implements customerv1.CustomerServiceServer.
func (s *Server) SearchCustomers(ctx context.Context, req *customerv1.SearchCustomersRequest) (*customerv1.SearchCustomersResponse, error) {
	p, err := s.svc.Search(ctx, customer.SearchInput{Query: req.GetQuery(), PageSize: req.GetPageSize(), PageToken: req.GetPageToken()})
	if err != nil {
		return nil, err
	}
	return &customerv1.SearchCustomersResponse{Customers: customersToProto(p.Customers), NextPageToken: p.NextPageToken}, nil
}

// UpdateCustomer implements customerv1.CustomerServiceServer.
func (s *Server) UpdateCustomer(ctx context.Context, req *customerv1.UpdateCustomerRequest) (*customerv1.UpdateCustomerResponse, error) {
	id, err := customer.ParseName("customer.name", req.GetCustomer().GetName())
	if err != nil {
		return nil, err
	}
	c, err := customerToDomain(req.GetCustomer(), "customer")
	if err != nil {
		return nil, err
	}
	c.ID = id
	out, err := s.svc.Update(ctx, customer.UpdateInput{
		Customer: c, Etag: req.GetCustomer().GetEtag(), Paths: req.GetUpdateMask().GetPaths(), RequestID: req.GetRequestId(),
	})
	if err != nil {
		return nil, err
	}
	return &customerv1.UpdateCustomerResponse{Customer: customerToProto(out)}, nil
}

// DeleteCustomer implements customerv1.CustomerServiceServer.
func (s *Server) DeleteCustomer(ctx context.Context, req *customerv1.DeleteCustomerRequest) (*customerv1.DeleteCustomerResponse, error) {
	out, err := s.svc.Delete(ctx, resource.Mutation{Name: req.GetName(), Etag: req.GetEtag(), RequestID: req.GetRequestId()})
	if err != nil {
		return nil, err
	}
	return &customerv1.DeleteCustomerResponse{Customer: customerToProto(out)}, nil
}

// UndeleteCustomer implements customerv1.CustomerServiceServer.
func (s *Server) UndeleteCustomer(ctx context.Context, req *customerv1.UndeleteCustomerRequest) (*customerv1.UndeleteCustomerResponse, error) {
	out, err := s.svc.Undelete(ctx, resource.Mutation{Name: req.GetName(), Etag: req.GetEtag(), RequestID: req.GetRequestId()})
	if err != nil {
		return nil, err
	}
	return &customerv1.UndeleteCustomerResponse{Customer: customerToProto(out)}, nil
}

// PurgeCustomer implements customerv1.CustomerServiceServer.
func (s *Server) PurgeCustomer(ctx context.Context, req *customerv1.PurgeCustomerRequest) (*customerv1.PurgeCustomerResponse, error) {
	name, err := s.svc.Purge(ctx, resource.Mutation{Name: req.GetName(), Etag: req.GetEtag(), RequestID: req.GetRequestId()})
	if err != nil {
		return nil, err
	}
	return &customerv1.PurgeCustomerResponse{Name: name}, nil
}

// FindDuplicates implements customerv1.CustomerServiceServer.
func (s *Server) FindDuplicates(ctx context.Context, req *customerv1.FindDuplicatesRequest) (*customerv1.FindDuplicatesResponse, error) {
	groups, next, err := s.svc.FindDuplicates(ctx, req.GetCustomer(), req.GetPageSize(), req.GetPageToken())
	if err != nil {
		return nil, err
	}
	resp := &customerv1.FindDuplicatesResponse{NextPageToken: next}
	for _, g := range groups {
		pg := &customerv1.DuplicateGroup{Reason: duplicateReasonToProto(g.Reason), Key: g.Key, Score: g.Score}
		for _, id := range g.CustomerIDs {
			pg.Customers = append(pg.Customers, customer.Name(id))
		}
		resp.Groups = append(resp.Groups, pg)
	}
	return resp, nil
}

// MergeCustomers implements customerv1.CustomerServiceServer.
func (s *Server) MergeCustomers(ctx context.Context, req *customerv1.MergeCustomersRequest) (*customerv1.MergeCustomersResponse, error) {
	res, err := s.svc.Merge(ctx, customer.MergeInput{
		Survivor: req.GetSurvivor(), Merged: req.GetMerged(), DryRun: req.GetDryRun(), RequestID: req.GetRequestId(),
	})
	if err != nil {
		return nil, err
	}
	resp := &customerv1.MergeCustomersResponse{Customer: customerToProto(res.Customer)}
	for _, f := range res.Fields {
		source := ""
		if f.SourceID != "" {
			source = customer.Name(f.SourceID)
		}
		resp.Fields = append(resp.Fields, &customerv1.FieldMerge{
			Field: f.Field, SurvivorValue: f.SurvivorValue, MergedValue: f.MergedValue, Source: source,
		})
	}
	return resp, nil
}

// UnmergeCustomer implements customerv1.CustomerServiceServer.
func (s *Server) UnmergeCustomer(ctx context.Context, req *customerv1.UnmergeCustomerRequest) (*customerv1.UnmergeCustomerResponse, error) {
	res, err := s.svc.Unmerge(ctx, customer.UnmergeInput{Name: req.GetName(), RequestID: req.GetRequestId()})
	if err != nil {
		return nil, err
	}
	return &customerv1.UnmergeCustomerResponse{Customer: customerToProto(res.Restored), Survivor: customerToProto(res.Survivor)}, nil
}

// TransitionLifecycleStage implements customerv1.CustomerServiceServer.
func (s *Server) TransitionLifecycleStage(ctx context.Context, req *customerv1.TransitionLifecycleStageRequest) (*customerv1.TransitionLifecycleStageResponse, error) {
	var v errs.Violations
	stage := protoenum.ToDomain(req.GetStage(), "LIFECYCLE_STAGE_", "stage", &v)
	if err := v.Err(); err != nil {
		return nil, err
	}
	c, t, err := s.svc.Transition(ctx, customer.TransitionInput{
		Name: req.GetName(), Stage: customer.Stage(stage), Reason: req.GetReason(), Etag: req.GetEtag(), RequestID: req.GetRequestId(),
	})
	if err != nil {
		return nil, err
	}
	return &customerv1.TransitionLifecycleStageResponse{Customer: customerToProto(c), Transition: transitionToProto(t)}, nil
}

// ListLifecycleTransitions implements customerv1.CustomerServiceServer.
func (s *Server) ListLifecycleTransitions(ctx context.Context, req *customerv1.ListLifecycleTransitionsRequest) (*customerv1.ListLifecycleTransitionsResponse, error) {
	ts, next, err := s.svc.ListTransitions(ctx, customer.HistoryInput{Parent: req.GetParent(), PageSize: req.GetPageSize(), PageToken: req.GetPageToken()})
	if err != nil {
		return nil, err
	}
	resp := &customerv1.ListLifecycleTransitionsResponse{NextPageToken: next}
	for i := range ts {
		resp.LifecycleTransitions = append(resp.LifecycleTransitions, transitionToProto(&ts[i]))
	}
	return resp, nil
}

// AssignAccountManager implements customerv1.CustomerServiceServer.
func (s *Server) AssignAccountManager(ctx context.Context, req *customerv1.AssignAccountManagerRequest) (*customerv1.AssignAccountManagerResponse, error) {
	c, err := s.svc.Assign(ctx, customer.AssignInput{
		Name: req.GetName(), AccountManager: req.GetAccountManager(), Etag: req.GetEtag(), RequestID: req.GetRequestId(),
	})
	if err != nil {
		return nil, err
	}
	return &customerv1.AssignAccountManagerResponse{Customer: customerToProto(c)}, nil
}

// BatchAssignAccountManager implements customerv1.CustomerServiceServer.
func (s *Server) BatchAssignAccountManager(ctx context.Context, req *customerv1.BatchAssignAccountManagerRequest) (*customerv1.BatchAssignAccountManagerResponse, error) {
	n, err := s.svc.BatchAssign(ctx, customer.BatchAssignInput{
		Filter: req.GetFilter(), AccountManager: req.GetAccountManager(), RequestID: req.GetRequestId(),
	})
	if err != nil {
		return nil, err
	}
	return &customerv1.BatchAssignAccountManagerResponse{AssignedCount: n}, nil
}

// AdjustPoints implements customerv1.CustomerServiceServer.
func (s *Server) AdjustPoints(ctx context.Context, req *customerv1.AdjustPointsRequest) (*customerv1.AdjustPointsResponse, error) {
	c, e, err := s.svc.AdjustPoints(ctx, customer.PointsInput{
		Name: req.GetName(), Delta: req.GetDelta(), Reason: req.GetReason(), RequestID: req.GetRequestId(),
	})
	if err != nil {
		return nil, err
	}
	return &customerv1.AdjustPointsResponse{Customer: customerToProto(c), Entry: ledgerEntryToProto(e)}, nil
}

// ListPointsLedger implements customerv1.CustomerServiceServer.
func (s *Server) ListPointsLedger(ctx context.Context, req *customerv1.ListPointsLedgerRequest) (*customerv1.ListPointsLedgerResponse, error) {
	es, next, err := s.svc.ListLedger(ctx, customer.HistoryInput{Parent: req.GetParent(), PageSize: req.GetPageSize(), PageToken: req.GetPageToken()})
	if err != nil {
		return nil, err
	}
	resp := &customerv1.ListPointsLedgerResponse{NextPageToken: next}
	for i := range es {
		resp.Entries = append(resp.Entries, ledgerEntryToProto(&es[i]))
	}
	return resp, nil
}

// ImportCustomers implements customerv1.CustomerServiceServer. One stream
// is bounded in rows and duration (importstream.Limits).
func (s *Server) ImportCustomers(stream customerv1.CustomerService_ImportCustomersServer) error {
	ctx := stream.Context()
	im, err := s.svc.NewImporter(ctx)
	if err != nil {
		return err
	}
	// An import that ends early leaves the batch in flight settled.
	defer func() { _ = im.Wait() }()
	err = importstream.Receive(ctx, s.limits, stream.Recv,
		func(req *customerv1.ImportCustomersRequest) int { return len(req.GetCustomers()) },
		func(req *customerv1.ImportCustomersRequest) error { return s.importRows(ctx, im, req.GetCustomers()) })
	if err != nil {
		return err
	}
	res, err := im.Finish(ctx)
	if err != nil {
		return err
	}
	resp := &customerv1.ImportCustomersResponse{
		ReceivedCount: res.Received, CreatedCount: res.Created, UpdatedCount: res.Updated, FailedCount: res.Failed,
	}
	for _, e := range res.Errors {
		resp.Errors = append(resp.Errors, &customerv1.ImportError{Row: e.Row, ExternalId: e.ExternalID, Field: e.Field, Description: e.Description})
	}
	return stream.SendAndClose(resp)
}

// importRows converts and adds one message's rows. Rows that cannot even be
// converted (unknown enum numbers) are rejected like rows the domain
// refuses: counted and reported, never aborting the import.
func (s *Server) importRows(ctx context.Context, im *customer.Importer, rows []*customerv1.Customer) error {
	for _, pc := range rows {
		c, err := customerToDomain(pc, "customer")
		if err != nil {
			e, _ := errs.As(err)
			field, desc := "customer", err.Error()
			if e != nil && len(e.Violations) > 0 {
				field, desc = e.Violations[0].Field, e.Violations[0].Description
			}
			im.Reject(pc.GetExternalId(), field, desc)
			continue
		}
		// An import may carry when the source system first knew the
		// customer; otherwise the import is the creation.
		if pc.GetCreateTime() != nil {
			c.CreateTime = pc.GetCreateTime().AsTime()
		}
		if err := im.Add(ctx, []*customer.Customer{c}); err != nil {
			return err
		}
	}
	return nil
}

// ExportCustomers implements customerv1.CustomerServiceServer.
func (s *Server) ExportCustomers(req *customerv1.ExportCustomersRequest, stream customerv1.CustomerService_ExportCustomersServer) error {
	return s.svc.Export(stream.Context(), req.GetFilter(), req.GetShowDeleted(), func(cs []*customer.Customer) error {
		return stream.Send(&customerv1.ExportCustomersResponse{Customers: customersToProto(cs)})
	})
}

// StreamEvents implements customerv1.CustomerServiceServer.
func (s *Server) StreamEvents(req *customerv1.StreamEventsRequest, stream customerv1.CustomerService_StreamEventsServer) error {
	if req.GetAfterSequence() < 0 {
		return errs.InvalidField("after_sequence", "must not be negative")
	}
	return s.events.Stream(stream.Context(), req.GetAfterSequence(), func(e *eventv1.Event) error {
		return stream.Send(&customerv1.StreamEventsResponse{Event: e})
	})
}
