package audit

import (
	"context"
	"strconv"

	"github.com/jackc/pgx/v5/pgxpool"
	"google.golang.org/grpc/codes"
	"google.golang.org/protobuf/types/known/timestamppb"

	auditv1 "github.com/kehu-crm/kehu/pkg/api/kehu/audit/v1"
	"github.com/kehu-crm/kehu/pkg/filter"
	"github.com/kehu-crm/kehu/pkg/pagetoken"
)

// Server serves kehu.audit.v1.AuditService. Its methods are in no
// permission table, so only admins may call them.
type Server struct {
	auditv1.UnimplementedAuditServiceServer
	pool *pgxpool.Pool
}

var _ auditv1.AuditServiceServer = (*Server)(nil)

// NewServer reads the trail through pool.
func NewServer(pool *pgxpool.Pool) *Server { return &Server{pool: pool} }

// Page sizes of ListAuditEntries.
const (
	defaultPageSize = 100
	maxPageSize     = 1000
)

// resultNames are the names of the gRPC codes, as stored in result.
var resultNames = func() []string {
	out := make([]string, 0, 17)
	for c := codes.OK; c <= codes.Unauthenticated; c++ {
		out = append(out, codeName(c))
	}
	return out
}()

// filterSchema is what ListAuditEntries may filter on.
var filterSchema = filter.Schema{
	"actor":          {Column: "actor", Type: filter.String},
	"method":         {Column: "method", Type: filter.String},
	"resource":       {Column: "resource", Type: filter.String},
	"service":        {Column: "service", Type: filter.String},
	"result":         {Column: "result", Type: filter.Enum, Enum: filter.EnumValues("", resultNames...)},
	"kind":           {Column: "kind", Type: filter.Enum, Enum: filter.EnumValues("KIND_", KindMutation, KindPersonalDataRead)},
	"roles":          {Column: "roles", Type: filter.StringArray},
	"fields":         {Column: "fields", Type: filter.StringArray},
	"request_id":     {Column: "request_id", Type: filter.String},
	"client_address": {Column: "client_address", Type: filter.String},
	"time":           {Column: "time", Type: filter.Timestamp},
}

// ListAuditEntries lists the trail, newest first.
func (s *Server) ListAuditEntries(ctx context.Context, req *auditv1.ListAuditEntriesRequest) (*auditv1.ListAuditEntriesResponse, error) {
	size, err := pagetoken.Size(req.GetPageSize(), defaultPageSize, maxPageSize)
	if err != nil {
		return nil, err
	}
	var w filter.Where
	if err := w.Filter(req.GetFilter(), filterSchema); err != nil {
		return nil, err
	}
	query := "audit " + req.GetFilter()
	if req.GetPageToken() != "" {
		var cur cursor
		if err := pagetoken.Decode(req.GetPageToken(), query, &cur); err != nil {
			return nil, err
		}
		w.Add("(time, id) < (%s, %s)", cur.Time, cur.ID)
	}
	entries, err := list(ctx, s.pool, &w, size+1)
	if err != nil {
		return nil, err
	}
	resp := &auditv1.ListAuditEntriesResponse{}
	if len(entries) > size {
		entries = entries[:size]
		last := entries[size-1]
		resp.NextPageToken = pagetoken.Encode(query, cursor{Time: last.Time, ID: last.ID})
	}
	for _, e := range entries {
		resp.AuditEntries = append(resp.AuditEntries, toProto(e))
	}
	return resp, nil
}

func toProto(e Entry) *auditv1.AuditEntry {
	kind := auditv1.AuditEntry_KIND_UNSPECIFIED
	switch e.Kind {
	case KindMutation:
		kind = auditv1.AuditEntry_KIND_MUTATION
	case KindPersonalDataRead:
		kind = auditv1.AuditEntry_KIND_PERSONAL_DATA_READ
	}
	p := &auditv1.AuditEntry{
		Name: "auditEntries/" + strconv.FormatInt(e.ID, 10), Time: timestamppb.New(e.Time),
		Service: e.Service, Method: e.Method, Kind: kind, Actor: e.Actor, Roles: e.Roles,
		Resource: e.Resource, Fields: e.Fields, Result: e.Result, RequestId: e.RequestID,
		ClientRequestId: e.ClientRequestID, ClientAddress: e.ClientAddress, Peer: e.Peer,
		CallCount: int32(max(e.Calls, 1)),
	}
	if e.Calls > 1 && !e.FirstCallTime.IsZero() {
		p.FirstCallTime = timestamppb.New(e.FirstCallTime)
	}
	return p
}
