// Package server is the interaction service's gRPC transport: thin
// handlers converting between protobuf and the interaction domain.
package server

import (
	"context"
	"fmt"

	eventv1 "github.com/kehu-crm/kehu/pkg/api/kehu/event/v1"
	interactionv1 "github.com/kehu-crm/kehu/pkg/api/kehu/interaction/v1"
	"github.com/kehu-crm/kehu/pkg/errs"
	"github.com/kehu-crm/kehu/pkg/importstream"
	"github.com/kehu-crm/kehu/pkg/outbox"
	"github.com/kehu-crm/kehu/pkg/resource"
	"github.com/kehu-crm/kehu/services/interaction/internal/interaction"
)

// Server implements interactionv1.InteractionServiceServer.
type Server struct {
	interactionv1.UnimplementedInteractionServiceServer
	svc    *interaction.Service
	events *outbox.Streamer
	limits importstream.Limits
}

// New returns the handlers; limits bound one ImportInteractions stream.
func New(svc *interaction.Service, events *outbox.Streamer, limits importstream.Limits) *Server {
	return &Server{svc: svc, events: events, limits: limits}
}

// CreateInteraction implements interactionv1.InteractionServiceServer.
func (s *Server) CreateInteraction(ctx context.Context, req *interactionv1.CreateInteractionRequest) (*interactionv1.CreateInteractionResponse, error) {
	i, err := interactionToDomain(req.GetInteraction(), "interaction")
	if err != nil {
		return nil, err
	}
	out, err := s.svc.CreateInteraction(ctx, interaction.CreateInteractionInput{Parent: req.GetParent(), Interaction: i, RequestID: req.GetRequestId()})
	if err != nil {
		return nil, err
	}
	return &interactionv1.CreateInteractionResponse{Interaction: interactionToProto(out)}, nil
}

// BatchCreateInteractions implements interactionv1.InteractionServiceServer.
func (s *Server) BatchCreateInteractions(ctx context.Context, req *interactionv1.BatchCreateInteractionsRequest) (*interactionv1.BatchCreateInteractionsResponse, error) {
	var v errs.Violations
	items := make([]*interaction.Interaction, len(req.GetRequests()))
	for n, r := range req.GetRequests() {
		field := fmt.Sprintf("requests[%d]", n)
		if r.GetParent() != "" && r.GetParent() != req.GetParent() {
			v.Add(field+".parent", "must be empty or equal to the batch parent %q", req.GetParent())
		}
		i, err := interactionToDomain(r.GetInteraction(), field+".interaction")
		if e, ok := errs.As(err); ok {
			for _, fv := range e.Violations {
				v.Add(fv.Field, "%s", fv.Description)
			}
		}
		items[n] = i
	}
	if err := v.Err(); err != nil {
		return nil, err
	}
	out, err := s.svc.BatchCreateInteractions(ctx, interaction.BatchCreateInput{Parent: req.GetParent(), Interactions: items, RequestID: req.GetRequestId()})
	if err != nil {
		return nil, err
	}
	resp := &interactionv1.BatchCreateInteractionsResponse{}
	for _, i := range out {
		resp.Interactions = append(resp.Interactions, interactionToProto(i))
	}
	return resp, nil
}

// GetInteraction implements interactionv1.InteractionServiceServer.
func (s *Server) GetInteraction(ctx context.Context, req *interactionv1.GetInteractionRequest) (*interactionv1.GetInteractionResponse, error) {
	out, err := s.svc.GetInteraction(ctx, req.GetName())
	if err != nil {
		return nil, err
	}
	return &interactionv1.GetInteractionResponse{Interaction: interactionToProto(out)}, nil
}

// ListInteractions implements interactionv1.InteractionServiceServer.
func (s *Server) ListInteractions(ctx context.Context, req *interactionv1.ListInteractionsRequest) (*interactionv1.ListInteractionsResponse, error) {
	rows, next, err := s.svc.ListInteractions(ctx, interaction.ListInput{
		Parent: req.GetParent(), Filter: req.GetFilter(), PageSize: req.GetPageSize(), PageToken: req.GetPageToken(), ShowDeleted: req.GetShowDeleted(),
	})
	if err != nil {
		return nil, err
	}
	resp := &interactionv1.ListInteractionsResponse{NextPageToken: next}
	for _, i := range rows {
		resp.Interactions = append(resp.Interactions, interactionToProto(i))
	}
	return resp, nil
}

// UpdateInteraction implements interactionv1.InteractionServiceServer.
func (s *Server) UpdateInteraction(ctx context.Context, req *interactionv1.UpdateInteractionRequest) (*interactionv1.UpdateInteractionResponse, error) {
	i, err := interactionToDomain(req.GetInteraction(), "interaction")
	if err != nil {
		return nil, err
	}
	out, err := s.svc.UpdateInteraction(ctx, interaction.UpdateInteractionInput{
		Name: req.GetInteraction().GetName(), Interaction: i, Etag: req.GetInteraction().GetEtag(),
		Paths: req.GetUpdateMask().GetPaths(), RequestID: req.GetRequestId(),
	})
	if err != nil {
		return nil, err
	}
	return &interactionv1.UpdateInteractionResponse{Interaction: interactionToProto(out)}, nil
}

// DeleteInteraction implements interactionv1.InteractionServiceServer.
func (s *Server) DeleteInteraction(ctx context.Context, req *interactionv1.DeleteInteractionRequest) (*interactionv1.DeleteInteractionResponse, error) {
	out, err := s.svc.DeleteInteraction(ctx, resource.Mutation{Name: req.GetName(), Etag: req.GetEtag(), RequestID: req.GetRequestId()})
	if err != nil {
		return nil, err
	}
	return &interactionv1.DeleteInteractionResponse{Interaction: interactionToProto(out)}, nil
}

// UndeleteInteraction implements interactionv1.InteractionServiceServer.
func (s *Server) UndeleteInteraction(ctx context.Context, req *interactionv1.UndeleteInteractionRequest) (*interactionv1.UndeleteInteractionResponse, error) {
	out, err := s.svc.UndeleteInteraction(ctx, resource.Mutation{Name: req.GetName(), Etag: req.GetEtag(), RequestID: req.GetRequestId()})
	if err != nil {
		return nil, err
	}
	return &interactionv1.UndeleteInteractionResponse{Interaction: interactionToProto(out)}, nil
}

// CreateFollowUp implements interactionv1.InteractionServiceServer.
func (s *Server) CreateFollowUp(ctx context.Context, req *interactionv1.CreateFollowUpRequest) (*interactionv1.CreateFollowUpResponse, error) {
	f, err := followUpToDomain(req.GetFollowUp(), "follow_up")
	if err != nil {
		return nil, err
	}
	out, err := s.svc.CreateFollowUp(ctx, interaction.CreateFollowUpInput{Parent: req.GetParent(), FollowUp: f, RequestID: req.GetRequestId()})
	if err != nil {
		return nil, err
	}
	return &interactionv1.CreateFollowUpResponse{FollowUp: followUpToProto(out)}, nil
}

// GetFollowUp implements interactionv1.InteractionServiceServer.
func (s *Server) GetFollowUp(ctx context.Context, req *interactionv1.GetFollowUpRequest) (*interactionv1.GetFollowUpResponse, error) {
	out, err := s.svc.GetFollowUp(ctx, req.GetName())
	if err != nil {
		return nil, err
	}
	return &interactionv1.GetFollowUpResponse{FollowUp: followUpToProto(out)}, nil
}

// ListFollowUps implements interactionv1.InteractionServiceServer.
func (s *Server) ListFollowUps(ctx context.Context, req *interactionv1.ListFollowUpsRequest) (*interactionv1.ListFollowUpsResponse, error) {
	rows, next, err := s.svc.ListFollowUps(ctx, interaction.ListInput{
		Parent: req.GetParent(), Filter: req.GetFilter(), PageSize: req.GetPageSize(), PageToken: req.GetPageToken(),
	})
	if err != nil {
		return nil, err
	}
	resp := &interactionv1.ListFollowUpsResponse{NextPageToken: next}
	for _, f := range rows {
		resp.FollowUps = append(resp.FollowUps, followUpToProto(f))
	}
	return resp, nil
}

// UpdateFollowUp implements interactionv1.InteractionServiceServer.
func (s *Server) UpdateFollowUp(ctx context.Context, req *interactionv1.UpdateFollowUpRequest) (*interactionv1.UpdateFollowUpResponse, error) {
	f, err := followUpToDomain(req.GetFollowUp(), "follow_up")
	if err != nil {
		return nil, err
	}
	out, err := s.svc.UpdateFollowUp(ctx, interaction.UpdateFollowUpInput{
		Name: req.GetFollowUp().GetName(), FollowUp: f, Etag: req.GetFollowUp().GetEtag(),
		Paths: req.GetUpdateMask().GetPaths(), RequestID: req.GetRequestId(),
	})
	if err != nil {
		return nil, err
	}
	return &interactionv1.UpdateFollowUpResponse{FollowUp: followUpToProto(out)}, nil
}

// CompleteFollowUp implements interactionv1.InteractionServiceServer.
func (s *Server) CompleteFollowUp(ctx context.Context, req *interactionv1.CompleteFollowUpRequest) (*interactionv1.CompleteFollowUpResponse, error) {
	in := interaction.CompleteFollowUpInput{Name: req.GetName(), InteractionName: req.GetInteraction(), Etag: req.GetEtag(), RequestID: req.GetRequestId()}
	if req.GetNewInteraction() != nil {
		i, err := interactionToDomain(req.GetNewInteraction(), "new_interaction")
		if err != nil {
			return nil, err
		}
		in.NewInteraction = i
	}
	res, err := s.svc.CompleteFollowUp(ctx, in)
	if err != nil {
		return nil, err
	}
	return &interactionv1.CompleteFollowUpResponse{
		FollowUp: followUpToProto(res.FollowUp), Interaction: interactionToProto(res.Interaction), NextFollowUp: followUpToProto(res.Next),
	}, nil
}

// CancelFollowUp implements interactionv1.InteractionServiceServer.
func (s *Server) CancelFollowUp(ctx context.Context, req *interactionv1.CancelFollowUpRequest) (*interactionv1.CancelFollowUpResponse, error) {
	out, err := s.svc.CancelFollowUp(ctx, interaction.CancelFollowUpInput{Name: req.GetName(), Reason: req.GetReason(), Etag: req.GetEtag(), RequestID: req.GetRequestId()})
	if err != nil {
		return nil, err
	}
	return &interactionv1.CancelFollowUpResponse{FollowUp: followUpToProto(out)}, nil
}

// CreateCareRule implements interactionv1.InteractionServiceServer.
func (s *Server) CreateCareRule(ctx context.Context, req *interactionv1.CreateCareRuleRequest) (*interactionv1.CreateCareRuleResponse, error) {
	r, err := careRuleToDomain(req.GetCareRule(), "care_rule")
	if err != nil {
		return nil, err
	}
	out, err := s.svc.CreateCareRule(ctx, interaction.CreateCareRuleInput{Rule: r, ID: req.GetCareRuleId(), RequestID: req.GetRequestId()})
	if err != nil {
		return nil, err
	}
	return &interactionv1.CreateCareRuleResponse{CareRule: careRuleToProto(out)}, nil
}

// GetCareRule implements interactionv1.InteractionServiceServer.
func (s *Server) GetCareRule(ctx context.Context, req *interactionv1.GetCareRuleRequest) (*interactionv1.GetCareRuleResponse, error) {
	out, err := s.svc.GetCareRule(ctx, req.GetName())
	if err != nil {
		return nil, err
	}
	return &interactionv1.GetCareRuleResponse{CareRule: careRuleToProto(out)}, nil
}

// ListCareRules implements interactionv1.InteractionServiceServer.
func (s *Server) ListCareRules(ctx context.Context, req *interactionv1.ListCareRulesRequest) (*interactionv1.ListCareRulesResponse, error) {
	rows, next, err := s.svc.ListCareRules(ctx, req.GetPageSize(), req.GetPageToken())
	if err != nil {
		return nil, err
	}
	resp := &interactionv1.ListCareRulesResponse{NextPageToken: next}
	for _, r := range rows {
		resp.CareRules = append(resp.CareRules, careRuleToProto(r))
	}
	return resp, nil
}

// UpdateCareRule implements interactionv1.InteractionServiceServer.
func (s *Server) UpdateCareRule(ctx context.Context, req *interactionv1.UpdateCareRuleRequest) (*interactionv1.UpdateCareRuleResponse, error) {
	r, err := careRuleToDomain(req.GetCareRule(), "care_rule")
	if err != nil {
		return nil, err
	}
	out, err := s.svc.UpdateCareRule(ctx, interaction.UpdateCareRuleInput{
		Name: req.GetCareRule().GetName(), Rule: r, Etag: req.GetCareRule().GetEtag(), Paths: req.GetUpdateMask().GetPaths(), RequestID: req.GetRequestId(),
	})
	if err != nil {
		return nil, err
	}
	return &interactionv1.UpdateCareRuleResponse{CareRule: careRuleToProto(out)}, nil
}

// DeleteCareRule implements interactionv1.InteractionServiceServer.
func (s *Server) DeleteCareRule(ctx context.Context, req *interactionv1.DeleteCareRuleRequest) (*interactionv1.DeleteCareRuleResponse, error) {
	if err := s.svc.DeleteCareRule(ctx, req.GetName(), req.GetEtag()); err != nil {
		return nil, err
	}
	return &interactionv1.DeleteCareRuleResponse{}, nil
}

// CreateTouchpoint implements interactionv1.InteractionServiceServer.
func (s *Server) CreateTouchpoint(ctx context.Context, req *interactionv1.CreateTouchpointRequest) (*interactionv1.CreateTouchpointResponse, error) {
	t, err := touchpointToDomain(req.GetTouchpoint(), "touchpoint")
	if err != nil {
		return nil, err
	}
	out, err := s.svc.CreateTouchpoint(ctx, req.GetTouchpointId(), t)
	if err != nil {
		return nil, err
	}
	return &interactionv1.CreateTouchpointResponse{Touchpoint: touchpointToProto(out)}, nil
}

// GetTouchpoint implements interactionv1.InteractionServiceServer.
func (s *Server) GetTouchpoint(ctx context.Context, req *interactionv1.GetTouchpointRequest) (*interactionv1.GetTouchpointResponse, error) {
	out, err := s.svc.GetTouchpoint(ctx, req.GetName())
	if err != nil {
		return nil, err
	}
	return &interactionv1.GetTouchpointResponse{Touchpoint: touchpointToProto(out)}, nil
}

// ListTouchpoints implements interactionv1.InteractionServiceServer.
func (s *Server) ListTouchpoints(ctx context.Context, req *interactionv1.ListTouchpointsRequest) (*interactionv1.ListTouchpointsResponse, error) {
	rows, next, err := s.svc.ListTouchpoints(ctx, req.GetPageSize(), req.GetPageToken())
	if err != nil {
		return nil, err
	}
	resp := &interactionv1.ListTouchpointsResponse{NextPageToken: next}
	for _, t := range rows {
		resp.Touchpoints = append(resp.Touchpoints, touchpointToProto(t))
	}
	return resp, nil
}

// UpdateTouchpoint implements interactionv1.InteractionServiceServer.
func (s *Server) UpdateTouchpoint(ctx context.Context, req *interactionv1.UpdateTouchpointRequest) (*interactionv1.UpdateTouchpointResponse, error) {
	t, err := touchpointToDomain(req.GetTouchpoint(), "touchpoint")
	if err != nil {
		return nil, err
	}
	out, err := s.svc.UpdateTouchpoint(ctx, req.GetTouchpoint().GetName(), t, req.GetTouchpoint().GetEtag(), req.GetUpdateMask().GetPaths())
	if err != nil {
		return nil, err
	}
	return &interactionv1.UpdateTouchpointResponse{Touchpoint: touchpointToProto(out)}, nil
}

// DeleteTouchpoint implements interactionv1.InteractionServiceServer.
func (s *Server) DeleteTouchpoint(ctx context.Context, req *interactionv1.DeleteTouchpointRequest) (*interactionv1.DeleteTouchpointResponse, error) {
	if err := s.svc.DeleteTouchpoint(ctx, req.GetName(), req.GetEtag()); err != nil {
		return nil, err
	}
	return &interactionv1.DeleteTouchpointResponse{}, nil
}

// StreamEvents implements interactionv1.InteractionServiceServer.
func (s *Server) StreamEvents(req *interactionv1.StreamEventsRequest, stream interactionv1.InteractionService_StreamEventsServer) error {
	if req.GetAfterSequence() < 0 {
		return errs.InvalidField("after_sequence", "must not be negative")
	}
	return s.events.Stream(stream.Context(), req.GetAfterSequence(), func(e *eventv1.Event) error {
		return stream.Send(&interactionv1.StreamEventsResponse{Event: e})
	})
}
