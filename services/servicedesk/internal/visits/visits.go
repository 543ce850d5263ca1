// Package visits plans complaint follow-up visits (回访) in the interaction
// service over gRPC.
package visits

import (
	"context"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/types/known/timestamppb"

	interactionv1 "github.com/kehu-crm/kehu/pkg/api/kehu/interaction/v1"
	"github.com/kehu-crm/kehu/pkg/customerref"
	"github.com/kehu-crm/kehu/pkg/errs"
	"github.com/kehu-crm/kehu/services/servicedesk/internal/desk"
)

// Client implements desk.Visits.
type Client struct {
	rpc interactionv1.InteractionServiceClient
}

var _ desk.Visits = (*Client)(nil)

// New wraps a connection to the interaction service carrying the service
// desk's own credentials.
func New(conn grpc.ClientConnInterface) *Client {
	return &Client{rpc: interactionv1.NewInteractionServiceClient(conn)}
}

// Plan implements desk.Visits. The request id is derived from the ticket,
// so a retry (this pass failed after the call, or another replica
// delivers the same visit) returns the visit planned the first time.
func (c *Client) Plan(ctx context.Context, v desk.Visit, assignee string) error {
	_, err := c.rpc.CreateFollowUp(ctx, &interactionv1.CreateFollowUpRequest{
		Parent: customerref.Name(v.CustomerID),
		FollowUp: &interactionv1.FollowUp{
			Purpose: v.Purpose, Channel: interactionv1.Channel_CHANNEL_PHONE, Assignee: assignee,
			DueTime: timestamppb.New(v.Due), Message: "See " + desk.TicketName(v.TicketID),
		},
		RequestId: v.Reason + "-visit-" + v.TicketID,
	})
	switch status.Code(err) {
	case codes.OK:
		return nil
	case codes.Unavailable, codes.DeadlineExceeded, codes.ResourceExhausted:
		return errs.Unavailable("INTERACTION_SERVICE_UNAVAILABLE", "the interaction service is unavailable; the visit is planned on the next pass").WithCause(err)
	}
	return errs.Internal(err)
}
