package server

import (
	"context"
	"regexp"

	"github.com/google/uuid"
	middleware "github.com/grpc-ecosystem/go-grpc-middleware/v2"
	"google.golang.org/grpc"
	"google.golang.org/grpc/metadata"

	kehulog "github.com/kehu-crm/kehu/pkg/log"
)

func init() {
	// Calls without a request id get a random one; drawing them from a
	// buffered pool of crypto/rand output instead of one read per id keeps
	// the cheapest calls cheap.
	uuid.EnableRandPool()
}

// RequestIDHeader carries the request id between gateway, services and
// clients; the server echoes it in the response headers.
const RequestIDHeader = "x-request-id"

// A caller-supplied id is kept only if it is short and plain, so it can be
// logged safely.
var validRequestID = regexp.MustCompile(`^[A-Za-z0-9._:-]{1,128}$`)

func requestID(ctx context.Context) context.Context {
	// ValueFromIncomingContext reads the one key; FromIncomingContext
	// would copy every header of the call first.
	id := ""
	if v := metadata.ValueFromIncomingContext(ctx, RequestIDHeader); len(v) > 0 && validRequestID.MatchString(v[0]) {
		id = v[0]
	} else {
		id = uuid.NewString()
	}
	_ = grpc.SetHeader(ctx, metadata.Pairs(RequestIDHeader, id))
	return kehulog.WithRequestID(ctx, id)
}

func requestIDUnary(ctx context.Context, req any, _ *grpc.UnaryServerInfo, handler grpc.UnaryHandler) (any, error) {
	return handler(requestID(ctx), req)
}

func requestIDStream(srv any, ss grpc.ServerStream, _ *grpc.StreamServerInfo, handler grpc.StreamHandler) error {
	w := middleware.WrapServerStream(ss)
	w.WrappedContext = requestID(ss.Context())
	return handler(srv, w)
}
