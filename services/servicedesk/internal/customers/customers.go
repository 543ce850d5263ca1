// Package customers connects the service desk to the customer service:
// looking customers up as the caller when tickets are opened.
package customers

import (
	"context"
	"strings"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	customerv1 "github.com/kehu-crm/kehu/pkg/api/kehu/customer/v1"
	"github.com/kehu-crm/kehu/pkg/errs"
	"github.com/kehu-crm/kehu/services/servicedesk/internal/desk"
)

// Client implements desk.Customers over gRPC.
type Client struct {
	rpc customerv1.CustomerServiceClient
}

var _ desk.Customers = (*Client)(nil)

// NewClient wraps a connection to the customer service. The connection's
// credentials decide whose permissions apply (see auth.ForwardOr).
func NewClient(conn grpc.ClientConnInterface) *Client {
	return &Client{rpc: customerv1.NewCustomerServiceClient(conn)}
}

// Lookup implements desk.Customers.
func (c *Client) Lookup(ctx context.Context, id string) (desk.CustomerRef, error) {
	name := desk.CustomerName(id)
	resp, err := c.rpc.GetCustomer(ctx, &customerv1.GetCustomerRequest{Name: name})
	switch status.Code(err) {
	case codes.OK:
	case codes.NotFound:
		return desk.CustomerRef{}, errs.NotFound(name)
	case codes.PermissionDenied:
		return desk.CustomerRef{}, errs.PermissionDenied("the caller may not read %s", name)
	case codes.Unauthenticated:
		return desk.CustomerRef{}, errs.Unauthenticated("the customer service rejected the caller's token")
	case codes.Unavailable, codes.DeadlineExceeded, codes.ResourceExhausted:
		return desk.CustomerRef{}, errs.Unavailable("CUSTOMER_SERVICE_UNAVAILABLE", "the customer service is unavailable; retry").WithCause(err)
	case codes.Canceled:
		return desk.CustomerRef{}, errs.Canceled("request canceled").WithCause(err)
	default:
		return desk.CustomerRef{}, errs.Internal(err)
	}
	tier := strings.TrimPrefix(resp.GetCustomer().GetValueTier().String(), "VALUE_TIER_")
	if tier == "UNSPECIFIED" {
		tier = ""
	}
	return desk.CustomerRef{
		ID:        strings.TrimPrefix(resp.GetCustomer().GetName(), "customers/"),
		ValueTier: tier,
		Deleted:   resp.GetCustomer().GetDeleteTime() != nil,
	}, nil
}
