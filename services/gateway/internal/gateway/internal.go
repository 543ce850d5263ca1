package gateway

import (
	"context"

	"google.golang.org/grpc"

	analyticsv1 "github.com/kehu-crm/kehu/pkg/api/kehu/analytics/v1"
	customerv1 "github.com/kehu-crm/kehu/pkg/api/kehu/customer/v1"
	interactionv1 "github.com/kehu-crm/kehu/pkg/api/kehu/interaction/v1"
	servicedeskv1 "github.com/kehu-crm/kehu/pkg/api/kehu/servicedesk/v1"
	"github.com/kehu-crm/kehu/pkg/errs"
	"github.com/kehu-crm/kehu/pkg/server"
)

// internalRPCs are for Kehu's own services and operators' tools over gRPC:
// event streams (a web client has no business replaying every change) and
// bulk import (unbounded input). The public REST gateway answers them as
// unknown routes unless the operator exposes them.
var internalRPCs = map[string]bool{
	customerv1.CustomerService_ImportCustomers_FullMethodName:          true,
	customerv1.CustomerService_StreamEvents_FullMethodName:             true,
	interactionv1.InteractionService_ImportInteractions_FullMethodName: true,
	interactionv1.InteractionService_StreamEvents_FullMethodName:       true,
	servicedeskv1.ServiceDeskService_StreamEvents_FullMethodName:       true,
	analyticsv1.AnalyticsService_StreamEvents_FullMethodName:           true,
}

func notExposed() error {
	return server.ToStatus(errs.New(errs.KindNotFound, "NOT_EXPOSED",
		"this RPC is internal and not served over REST; call it over gRPC")).Err()
}

// HideInternalUnary refuses internal unary RPCs.
func HideInternalUnary(ctx context.Context, method string, req, reply any, cc *grpc.ClientConn, invoker grpc.UnaryInvoker, opts ...grpc.CallOption) error {
	if internalRPCs[method] {
		return notExposed()
	}
	return invoker(ctx, method, req, reply, cc, opts...)
}

// HideInternalStream refuses internal streaming RPCs.
func HideInternalStream(ctx context.Context, desc *grpc.StreamDesc, cc *grpc.ClientConn, method string, streamer grpc.Streamer, opts ...grpc.CallOption) (grpc.ClientStream, error) {
	if internalRPCs[method] {
		return nil, notExposed()
	}
	return streamer(ctx, desc, cc, method, opts...)
}
