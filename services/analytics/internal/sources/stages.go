package sources

import (
	"context"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/types/known/fieldmaskpb"

	customerv1 "github.com/kehu-crm/kehu/pkg/api/kehu/customer/v1"
	"github.com/kehu-crm/kehu/pkg/customerref"
	"github.com/kehu-crm/kehu/pkg/errs"
	"github.com/kehu-crm/kehu/services/analytics/internal/insight"
)

// Stages writes lifecycle stages and value tiers back to the customer service, as the
// analytics service (the connection carries its credentials), so every
// service and the customer's lifecycle history see them.
type Stages struct {
	rpc customerv1.CustomerServiceClient
}

var _ insight.Stages = (*Stages)(nil)

// NewStages wraps a connection to the customer service.
func NewStages(conn grpc.ClientConnInterface) *Stages {
	return &Stages{rpc: customerv1.NewCustomerServiceClient(conn)}
}

// Transition implements insight.Stages.
func (s *Stages) Transition(ctx context.Context, customerID, stage, reason, requestID string) error {
	_, err := s.rpc.TransitionLifecycleStage(ctx, &customerv1.TransitionLifecycleStageRequest{
		Name:      customerref.Name(customerID),
		Stage:     customerv1.LifecycleStage(customerv1.LifecycleStage_value["LIFECYCLE_STAGE_"+stage]),
		Reason:    reason,
		RequestId: requestID,
	})
	return fromCustomerService(customerID, err)
}

// SetValueTier implements insight.Stages.
func (s *Stages) SetValueTier(ctx context.Context, customerID, tier, requestID string) error {
	_, err := s.rpc.UpdateCustomer(ctx, &customerv1.UpdateCustomerRequest{
		Customer:   &customerv1.Customer{Name: customerref.Name(customerID), ValueTier: customerv1.ValueTier(customerv1.ValueTier_value["VALUE_TIER_"+tier])},
		UpdateMask: &fieldmaskpb.FieldMask{Paths: []string{"value_tier"}},
		RequestId:  requestID,
	})
	return fromCustomerService(customerID, err)
}

// fromCustomerService maps the customer service's answer to the domain's
// errors: what means "nothing left to do", and what waits for a retry.
func fromCustomerService(customerID string, err error) error {
	switch status.Code(err) {
	case codes.OK:
		return nil
	case codes.NotFound:
		return errs.NotFound(customerref.Name(customerID))
	case codes.FailedPrecondition:
		return errs.FailedPrecondition("STAGE_NOT_CHANGED", "%s: %s", customerref.Name(customerID), status.Convert(err).Message())
	case codes.Unavailable, codes.DeadlineExceeded, codes.ResourceExhausted:
		return errs.Unavailable("CUSTOMER_SERVICE_UNAVAILABLE", "the customer service is unavailable; the change waits for the next pass").WithCause(err)
	}
	return errs.Internal(err)
}
