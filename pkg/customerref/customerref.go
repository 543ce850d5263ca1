// Package customerref is how services other than the customer service
// refer to a customer: they ask the customer service, as their caller,
// whether the customer exists and may be seen, and what it is now. The
// gRPC client is in package rpc, so domain packages depend on this one
// without depending on protobuf.
package customerref

import (
	"context"

	"github.com/kehu-crm/kehu/pkg/errs"
)

// Customer is a customer as the customer service told the caller.
type Customer struct {
	// ID differs from the one asked for when that customer was merged
	// into another: records belong to the survivor.
	ID string
	// Stage is the lifecycle stage ("PROSPECT", …), ValueTier the ABC
	// tier ("A", "B", "C" or "").
	Stage          string
	ValueTier      string
	AccountManager string
	Deleted        bool
}

// Lookup asks the customer service about a customer.
type Lookup interface {
	// Lookup returns the customer; NOT_FOUND if it does not exist or the
	// caller may not see it.
	Lookup(ctx context.Context, customerID string) (Customer, error)
}

// Name is a customer's resource name.
func Name(id string) string { return "customers/" + id }

// Require looks up the customer new records will belong to: one the caller
// may not see is reported as not found on the field that named it, and a
// deleted one takes no new records.
func Require(ctx context.Context, l Lookup, field, customerID string) (Customer, error) {
	c, err := l.Lookup(ctx, customerID)
	if errs.Is(err, errs.KindNotFound) {
		return Customer{}, errs.New(errs.KindNotFound, "CUSTOMER_NOT_FOUND", "customer %s does not exist", Name(customerID)).
			WithField(field, "no such customer").WithMetadata("customer", Name(customerID))
	}
	if err == nil && c.Deleted {
		return Customer{}, errs.FailedPrecondition("CUSTOMER_DELETED", "%s is deleted; undelete it first", Name(customerID))
	}
	return c, err
}
