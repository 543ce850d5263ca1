// Package rpc implements customerref.Lookup over the customer service's
// gRPC API.
package rpc

import (
	"context"
	"strings"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	customerv1 "github.com/kehu-crm/kehu/pkg/api/kehu/customer/v1"
	"github.com/kehu-crm/kehu/pkg/customerref"
	"github.com/kehu-crm/kehu/pkg/errs"
)

// Client looks customers up in the customer service.
type Client struct {
	rpc customerv1.CustomerServiceClient
}

var _ customerref.Lookup = (*Client)(nil)

// New wraps a connection to the customer service. The connection's
// credentials decide whose permissions apply (see auth.ForwardOr).
func New(conn grpc.ClientConnInterface) *Client {
	return &Client{rpc: customerv1.NewCustomerServiceClient(conn)}
}

// Lookup implements customerref.Lookup.
func (c *Client) Lookup(ctx context.Context, id string) (customerref.Customer, error) {
	resp, err := c.rpc.GetCustomer(ctx, &customerv1.GetCustomerRequest{Name: customerref.Name(id)})
	if err != nil {
		return customerref.Customer{}, fromStatus(err, customerref.Name(id))
	}
	cu := resp.GetCustomer()
	return customerref.Customer{
		ID:             strings.TrimPrefix(cu.GetName(), "customers/"),
		Stage:          enumName(cu.GetLifecycleStage().String(), "LIFECYCLE_STAGE_"),
		ValueTier:      enumName(cu.GetValueTier().String(), "VALUE_TIER_"),
		AccountManager: cu.GetAccountManager(),
		Deleted:        cu.GetDeleteTime() != nil,
	}, nil
}

func enumName(s, prefix string) string {
	s = strings.TrimPrefix(s, prefix)
	if s == "UNSPECIFIED" {
		return ""
	}
	return s
}

// fromStatus turns the customer service's answer into the platform's
// error kinds.
func fromStatus(err error, name string) error {
	switch status.Code(err) {
	case codes.NotFound:
		return errs.NotFound(name)
	case codes.PermissionDenied:
		return errs.PermissionDenied("the caller may not read %s", name)
	case codes.Unauthenticated:
		return errs.Unauthenticated("the customer service rejected the caller's token")
	case codes.Unavailable, codes.DeadlineExceeded, codes.ResourceExhausted:
		return errs.Unavailable("CUSTOMER_SERVICE_UNAVAILABLE", "the customer service is unavailable; retry").WithCause(err)
	case codes.Canceled:
		return errs.Canceled("request canceled").WithCause(err)
	}
	return errs.Internal(err)
}
