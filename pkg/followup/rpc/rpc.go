// Package rpc implements followup.Planner over the interaction service's
// gRPC API.
package rpc

import (
	"context"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/types/known/timestamppb"

	interactionv1 "github.com/kehu-crm/kehu/pkg/api/kehu/interaction/v1"
	"github.com/kehu-crm/kehu/pkg/customerref"
	"github.com/kehu-crm/kehu/pkg/errs"
	"github.com/kehu-crm/kehu/pkg/followup"
)

// Client plans visits in the interaction service.
type Client struct {
	rpc interactionv1.InteractionServiceClient
}

var _ followup.Planner = (*Client)(nil)

// New wraps a connection to the interaction service carrying the calling
// service's own credentials.
func New(conn grpc.ClientConnInterface) *Client {
	return &Client{rpc: interactionv1.NewInteractionServiceClient(conn)}
}

// Plan implements followup.Planner.
func (c *Client) Plan(ctx context.Context, v followup.Visit) error {
	_, err := c.rpc.CreateFollowUp(ctx, &interactionv1.CreateFollowUpRequest{
		Parent: customerref.Name(v.CustomerID),
		FollowUp: &interactionv1.FollowUp{
			Purpose: v.Purpose, Channel: interactionv1.Channel_CHANNEL_PHONE, Assignee: v.Assignee,
			DueTime: timestamppb.New(v.Due), Message: v.Message,
		},
		RequestId: v.RequestID,
	})
	switch status.Code(err) {
	case codes.OK:
		return nil
	case codes.NotFound:
		return errs.NotFound(customerref.Name(v.CustomerID))
	case codes.Unavailable, codes.DeadlineExceeded, codes.ResourceExhausted:
		return errs.Unavailable("INTERACTION_SERVICE_UNAVAILABLE", "the interaction service is unavailable; the visit is planned on the next pass").WithCause(err)
	}
	return errs.Internal(err)
}
