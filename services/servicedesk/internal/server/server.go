// Package server is the service desk's gRPC transport: thin handlers
// converting between protobuf and the desk domain.
package server

import (
	"context"
	"time"

	"google.golang.org/protobuf/types/known/fieldmaskpb"

	eventv1 "github.com/kehu-crm/kehu/pkg/api/kehu/event/v1"
	sdv1 "github.com/kehu-crm/kehu/pkg/api/kehu/servicedesk/v1"
	"github.com/kehu-crm/kehu/pkg/errs"
	"github.com/kehu-crm/kehu/pkg/outbox"
	"github.com/kehu-crm/kehu/pkg/protoenum"
	"github.com/kehu-crm/kehu/services/servicedesk/internal/desk"
)

// Server implements sdv1.ServiceDeskServiceServer.
type Server struct {
	sdv1.UnimplementedServiceDeskServiceServer
	svc    *desk.Service
	events *outbox.Streamer
}

var _ sdv1.ServiceDeskServiceServer = (*Server)(nil)

// New returns the handlers.
func New(svc *desk.Service, events *outbox.Streamer) *Server {
	return &Server{svc: svc, events: events}
}

func paths(m *fieldmaskpb.FieldMask) []string { return m.GetPaths() }

// CreateTicket implements sdv1.ServiceDeskServiceServer.
func (s *Server) CreateTicket(ctx context.Context, req *sdv1.CreateTicketRequest) (*sdv1.CreateTicketResponse, error) {
	t, err := ticketToDomain(req.GetTicket(), "ticket")
	if err != nil {
		return nil, err
	}
	out, err := s.svc.CreateTicket(ctx, desk.CreateTicketInput{Ticket: t, RequestID: req.GetRequestId()})
	if err != nil {
		return nil, err
	}
	return &sdv1.CreateTicketResponse{Ticket: ticketToProto(out)}, nil
}

// GetTicket implements sdv1.ServiceDeskServiceServer.
func (s *Server) GetTicket(ctx context.Context, req *sdv1.GetTicketRequest) (*sdv1.GetTicketResponse, error) {
	out, err := s.svc.GetTicket(ctx, req.GetName())
	if err != nil {
		return nil, err
	}
	return &sdv1.GetTicketResponse{Ticket: ticketToProto(out)}, nil
}

// ListTickets implements sdv1.ServiceDeskServiceServer.
func (s *Server) ListTickets(ctx context.Context, req *sdv1.ListTicketsRequest) (*sdv1.ListTicketsResponse, error) {
	rows, next, err := s.svc.ListTickets(ctx, desk.ListTicketsInput{
		Filter: req.GetFilter(), OrderBy: req.GetOrderBy(), ShowDeleted: req.GetShowDeleted(),
		PageSize: req.GetPageSize(), PageToken: req.GetPageToken(),
	})
	if err != nil {
		return nil, err
	}
	resp := &sdv1.ListTicketsResponse{NextPageToken: next}
	for _, t := range rows {
		resp.Tickets = append(resp.Tickets, ticketToProto(t))
	}
	return resp, nil
}

// UpdateTicket implements sdv1.ServiceDeskServiceServer.
func (s *Server) UpdateTicket(ctx context.Context, req *sdv1.UpdateTicketRequest) (*sdv1.UpdateTicketResponse, error) {
	t, err := ticketToDomain(req.GetTicket(), "ticket")
	if err != nil {
		return nil, err
	}
	out, err := s.svc.UpdateTicket(ctx, desk.UpdateTicketInput{
		Name: req.GetTicket().GetName(), Ticket: t, Etag: req.GetTicket().GetEtag(), Paths: paths(req.GetUpdateMask()), RequestID: req.GetRequestId(),
	})
	if err != nil {
		return nil, err
	}
	return &sdv1.UpdateTicketResponse{Ticket: ticketToProto(out)}, nil
}

// AssignTicket implements sdv1.ServiceDeskServiceServer.
func (s *Server) AssignTicket(ctx context.Context, req *sdv1.AssignTicketRequest) (*sdv1.AssignTicketResponse, error) {
	out, err := s.svc.AssignTicket(ctx, req.GetName(), req.GetAssignee(), req.GetEtag(), req.GetRequestId())
	if err != nil {
		return nil, err
	}
	return &sdv1.AssignTicketResponse{Ticket: ticketToProto(out)}, nil
}

// TransitionTicket implements sdv1.ServiceDeskServiceServer.
func (s *Server) TransitionTicket(ctx context.Context, req *sdv1.TransitionTicketRequest) (*sdv1.TransitionTicketResponse, error) {
	var v errs.Violations
	status := protoenum.ToDomain(req.GetStatus(), "STATUS_", "status", &v)
	if err := v.Err(); err != nil {
		return nil, err
	}
	out, err := s.svc.TransitionTicket(ctx, desk.TransitionInput{
		Name: req.GetName(), Status: status, RootCause: req.GetRootCause(), ResolutionSummary: req.GetResolutionSummary(),
		Etag: req.GetEtag(), RequestID: req.GetRequestId(),
	})
	if err != nil {
		return nil, err
	}
	return &sdv1.TransitionTicketResponse{Ticket: ticketToProto(out)}, nil
}

// EscalateTicket implements sdv1.ServiceDeskServiceServer.
func (s *Server) EscalateTicket(ctx context.Context, req *sdv1.EscalateTicketRequest) (*sdv1.EscalateTicketResponse, error) {
	out, err := s.svc.EscalateTicket(ctx, desk.EscalateInput{
		Name: req.GetName(), Reason: req.GetReason(), Queue: req.GetQueue(), Etag: req.GetEtag(), RequestID: req.GetRequestId(),
	})
	if err != nil {
		return nil, err
	}
	return &sdv1.EscalateTicketResponse{Ticket: ticketToProto(out)}, nil
}

// DeleteTicket implements sdv1.ServiceDeskServiceServer.
func (s *Server) DeleteTicket(ctx context.Context, req *sdv1.DeleteTicketRequest) (*sdv1.DeleteTicketResponse, error) {
	out, err := s.svc.DeleteTicket(ctx, req.GetName(), req.GetEtag(), req.GetRequestId())
	if err != nil {
		return nil, err
	}
	return &sdv1.DeleteTicketResponse{Ticket: ticketToProto(out)}, nil
}

// UndeleteTicket implements sdv1.ServiceDeskServiceServer.
func (s *Server) UndeleteTicket(ctx context.Context, req *sdv1.UndeleteTicketRequest) (*sdv1.UndeleteTicketResponse, error) {
	out, err := s.svc.UndeleteTicket(ctx, req.GetName(), req.GetRequestId())
	if err != nil {
		return nil, err
	}
	return &sdv1.UndeleteTicketResponse{Ticket: ticketToProto(out)}, nil
}

// ListTicketChanges implements sdv1.ServiceDeskServiceServer.
func (s *Server) ListTicketChanges(ctx context.Context, req *sdv1.ListTicketChangesRequest) (*sdv1.ListTicketChangesResponse, error) {
	changes, next, err := s.svc.ListChanges(ctx, req.GetParent(), req.GetPageSize(), req.GetPageToken())
	if err != nil {
		return nil, err
	}
	resp := &sdv1.ListTicketChangesResponse{NextPageToken: next}
	for _, c := range changes {
		resp.Changes = append(resp.Changes, changeToProto(c))
	}
	return resp, nil
}

// GetSlaStatus implements sdv1.ServiceDeskServiceServer.
func (s *Server) GetSlaStatus(ctx context.Context, req *sdv1.GetSlaStatusRequest) (*sdv1.GetSlaStatusResponse, error) {
	st, err := s.svc.GetSlaStatus(ctx, req.GetName())
	if err != nil {
		return nil, err
	}
	now := time.Now()
	resp := &sdv1.GetSlaStatusResponse{FirstResponse: targetToProto(st.FirstResponse, now), Resolution: targetToProto(st.Resolution, now)}
	if st.PolicyID != "" {
		resp.SlaPolicy = desk.PolicyName(st.PolicyID)
	}
	return resp, nil
}

// CreateComment implements sdv1.ServiceDeskServiceServer.
func (s *Server) CreateComment(ctx context.Context, req *sdv1.CreateCommentRequest) (*sdv1.CreateCommentResponse, error) {
	var c *desk.Comment
	if p := req.GetComment(); p != nil {
		var v errs.Violations
		c = &desk.Comment{Body: p.GetBody(), Visibility: protoenum.ToDomain(p.GetVisibility(), "VISIBILITY_", "comment.visibility", &v)}
		if err := v.Err(); err != nil {
			return nil, err
		}
	}
	out, err := s.svc.CreateComment(ctx, desk.CreateCommentInput{Parent: req.GetParent(), Comment: c, RequestID: req.GetRequestId()})
	if err != nil {
		return nil, err
	}
	return &sdv1.CreateCommentResponse{Comment: commentToProto(out)}, nil
}

// ListComments implements sdv1.ServiceDeskServiceServer.
func (s *Server) ListComments(ctx context.Context, req *sdv1.ListCommentsRequest) (*sdv1.ListCommentsResponse, error) {
	rows, next, err := s.svc.ListComments(ctx, req.GetParent(), req.GetPageSize(), req.GetPageToken())
	if err != nil {
		return nil, err
	}
	resp := &sdv1.ListCommentsResponse{NextPageToken: next}
	for _, c := range rows {
		resp.Comments = append(resp.Comments, commentToProto(c))
	}
	return resp, nil
}

// CreateQueue implements sdv1.ServiceDeskServiceServer.
func (s *Server) CreateQueue(ctx context.Context, req *sdv1.CreateQueueRequest) (*sdv1.CreateQueueResponse, error) {
	q, err := queueToDomain(req.GetQueue(), "queue")
	if err != nil {
		return nil, err
	}
	out, err := s.svc.CreateQueue(ctx, req.GetQueueId(), q)
	if err != nil {
		return nil, err
	}
	return &sdv1.CreateQueueResponse{Queue: queueToProto(out)}, nil
}

// GetQueue implements sdv1.ServiceDeskServiceServer.
func (s *Server) GetQueue(ctx context.Context, req *sdv1.GetQueueRequest) (*sdv1.GetQueueResponse, error) {
	out, err := s.svc.GetQueue(ctx, req.GetName())
	if err != nil {
		return nil, err
	}
	return &sdv1.GetQueueResponse{Queue: queueToProto(out)}, nil
}

// ListQueues implements sdv1.ServiceDeskServiceServer.
func (s *Server) ListQueues(ctx context.Context, req *sdv1.ListQueuesRequest) (*sdv1.ListQueuesResponse, error) {
	rows, next, err := s.svc.ListQueues(ctx, req.GetPageSize(), req.GetPageToken())
	if err != nil {
		return nil, err
	}
	resp := &sdv1.ListQueuesResponse{NextPageToken: next}
	for _, q := range rows {
		resp.Queues = append(resp.Queues, queueToProto(q))
	}
	return resp, nil
}

// UpdateQueue implements sdv1.ServiceDeskServiceServer.
func (s *Server) UpdateQueue(ctx context.Context, req *sdv1.UpdateQueueRequest) (*sdv1.UpdateQueueResponse, error) {
	q, err := queueToDomain(req.GetQueue(), "queue")
	if err != nil {
		return nil, err
	}
	out, err := s.svc.UpdateQueue(ctx, req.GetQueue().GetName(), req.GetQueue().GetEtag(), q, paths(req.GetUpdateMask()))
	if err != nil {
		return nil, err
	}
	return &sdv1.UpdateQueueResponse{Queue: queueToProto(out)}, nil
}

// DeleteQueue implements sdv1.ServiceDeskServiceServer.
func (s *Server) DeleteQueue(ctx context.Context, req *sdv1.DeleteQueueRequest) (*sdv1.DeleteQueueResponse, error) {
	if err := s.svc.DeleteQueue(ctx, req.GetName(), req.GetEtag()); err != nil {
		return nil, err
	}
	return &sdv1.DeleteQueueResponse{}, nil
}

// CreateSlaPolicy implements sdv1.ServiceDeskServiceServer.
func (s *Server) CreateSlaPolicy(ctx context.Context, req *sdv1.CreateSlaPolicyRequest) (*sdv1.CreateSlaPolicyResponse, error) {
	p, err := policyToDomain(req.GetSlaPolicy(), "sla_policy")
	if err != nil {
		return nil, err
	}
	out, err := s.svc.CreatePolicy(ctx, req.GetSlaPolicyId(), p)
	if err != nil {
		return nil, err
	}
	return &sdv1.CreateSlaPolicyResponse{SlaPolicy: policyToProto(out)}, nil
}

// GetSlaPolicy implements sdv1.ServiceDeskServiceServer.
func (s *Server) GetSlaPolicy(ctx context.Context, req *sdv1.GetSlaPolicyRequest) (*sdv1.GetSlaPolicyResponse, error) {
	out, err := s.svc.GetPolicy(ctx, req.GetName())
	if err != nil {
		return nil, err
	}
	return &sdv1.GetSlaPolicyResponse{SlaPolicy: policyToProto(out)}, nil
}

// ListSlaPolicies implements sdv1.ServiceDeskServiceServer.
func (s *Server) ListSlaPolicies(ctx context.Context, req *sdv1.ListSlaPoliciesRequest) (*sdv1.ListSlaPoliciesResponse, error) {
	rows, next, err := s.svc.ListPolicies(ctx, req.GetPageSize(), req.GetPageToken())
	if err != nil {
		return nil, err
	}
	resp := &sdv1.ListSlaPoliciesResponse{NextPageToken: next}
	for _, p := range rows {
		resp.SlaPolicies = append(resp.SlaPolicies, policyToProto(p))
	}
	return resp, nil
}

// UpdateSlaPolicy implements sdv1.ServiceDeskServiceServer.
func (s *Server) UpdateSlaPolicy(ctx context.Context, req *sdv1.UpdateSlaPolicyRequest) (*sdv1.UpdateSlaPolicyResponse, error) {
	p, err := policyToDomain(req.GetSlaPolicy(), "sla_policy")
	if err != nil {
		return nil, err
	}
	out, err := s.svc.UpdatePolicy(ctx, req.GetSlaPolicy().GetName(), req.GetSlaPolicy().GetEtag(), p, paths(req.GetUpdateMask()))
	if err != nil {
		return nil, err
	}
	return &sdv1.UpdateSlaPolicyResponse{SlaPolicy: policyToProto(out)}, nil
}

// DeleteSlaPolicy implements sdv1.ServiceDeskServiceServer.
func (s *Server) DeleteSlaPolicy(ctx context.Context, req *sdv1.DeleteSlaPolicyRequest) (*sdv1.DeleteSlaPolicyResponse, error) {
	if err := s.svc.DeletePolicy(ctx, req.GetName(), req.GetEtag()); err != nil {
		return nil, err
	}
	return &sdv1.DeleteSlaPolicyResponse{}, nil
}

// GetQueueStats implements sdv1.ServiceDeskServiceServer.
func (s *Server) GetQueueStats(ctx context.Context, req *sdv1.GetQueueStatsRequest) (*sdv1.GetQueueStatsResponse, error) {
	var start, end time.Time
	if req.GetStartTime() != nil {
		start = req.GetStartTime().AsTime()
	}
	if req.GetEndTime() != nil {
		end = req.GetEndTime().AsTime()
	}
	st, err := s.svc.GetQueueStats(ctx, req.GetQueue(), start, end)
	if err != nil {
		return nil, err
	}
	resp := &sdv1.GetQueueStatsResponse{Total: statsToProto(&st.Total)}
	for _, a := range st.Assignee {
		resp.Agents = append(resp.Agents, &sdv1.AgentStats{Agent: a, Stats: statsToProto(st.ByAgent[a])})
	}
	return resp, nil
}

// GetSurvey implements sdv1.ServiceDeskServiceServer.
func (s *Server) GetSurvey(ctx context.Context, req *sdv1.GetSurveyRequest) (*sdv1.GetSurveyResponse, error) {
	out, err := s.svc.GetSurvey(ctx, req.GetName())
	if err != nil {
		return nil, err
	}
	return &sdv1.GetSurveyResponse{Survey: surveyToProto(out)}, nil
}

// ListSurveys implements sdv1.ServiceDeskServiceServer.
func (s *Server) ListSurveys(ctx context.Context, req *sdv1.ListSurveysRequest) (*sdv1.ListSurveysResponse, error) {
	rows, next, err := s.svc.ListSurveys(ctx, req.GetFilter(), req.GetPageSize(), req.GetPageToken())
	if err != nil {
		return nil, err
	}
	resp := &sdv1.ListSurveysResponse{NextPageToken: next}
	for _, v := range rows {
		resp.Surveys = append(resp.Surveys, surveyToProto(v))
	}
	return resp, nil
}

// GetPublicSurvey implements sdv1.ServiceDeskServiceServer.
func (s *Server) GetPublicSurvey(ctx context.Context, req *sdv1.GetPublicSurveyRequest) (*sdv1.GetPublicSurveyResponse, error) {
	out, err := s.svc.PublicSurvey(ctx, req.GetToken())
	if err != nil {
		return nil, err
	}
	return &sdv1.GetPublicSurveyResponse{Survey: publicSurveyToProto(out)}, nil
}

// AnswerSurvey implements sdv1.ServiceDeskServiceServer.
func (s *Server) AnswerSurvey(ctx context.Context, req *sdv1.AnswerSurveyRequest) (*sdv1.AnswerSurveyResponse, error) {
	out, err := s.svc.AnswerSurvey(ctx, req.GetToken(), int(req.GetScore()), req.GetComment())
	if err != nil {
		return nil, err
	}
	return &sdv1.AnswerSurveyResponse{Survey: publicSurveyToProto(out)}, nil
}

// StreamEvents implements sdv1.ServiceDeskServiceServer.
func (s *Server) StreamEvents(req *sdv1.StreamEventsRequest, stream sdv1.ServiceDeskService_StreamEventsServer) error {
	if req.GetAfterSequence() < 0 {
		return errs.InvalidField("after_sequence", "must not be negative")
	}
	return s.events.Stream(stream.Context(), req.GetAfterSequence(), func(e *eventv1.Event) error {
		return stream.Send(&sdv1.StreamEventsResponse{Event: e})
	})
}
