// Package followup is how services other than the interaction service
// plan follow-up visits (回访) there: after a resolved complaint, a low
// satisfaction score, a churn warning. The gRPC client is in package rpc,
// so domain packages depend on this one without depending on protobuf.
package followup

import (
	"context"
	"time"
)

// Visit is a follow-up visit to plan.
type Visit struct {
	CustomerID string
	// Assignee does the visit; "" leaves it to the interaction service's
	// default (the caller).
	Assignee string
	Purpose  string
	Message  string
	Due      time.Time
	// RequestID makes planning idempotent: the same id plans one visit
	// however often it is sent (derive it from what owes the visit).
	RequestID string
}

// Planner plans visits.
type Planner interface {
	Plan(ctx context.Context, v Visit) error
}
