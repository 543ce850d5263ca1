package server

import (
	"context"
	"io"
	"log/slog"
	"testing"
	"time"

	"google.golang.org/genproto/googleapis/rpc/errdetails"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"

	"github.com/kehu-crm/kehu/pkg/auth"
	"github.com/kehu-crm/kehu/pkg/dial"
	"github.com/kehu-crm/kehu/pkg/errs"
)

// TestInProcessCallsTakeTheSameChain: a caller in the same process
// reaches the handlers through the server's own interceptors (request id,
// error mapping, the service's authentication), with the dialer's
// credentials and default deadline, and the connection's headers.
func TestInProcessCallsTakeTheSameChain(t *testing.T) {
	type seen struct {
		authorization []string
		deadline      bool
	}
	calls := make(chan seen, 10)
	guard := func(ctx context.Context, req any, info *grpc.UnaryServerInfo, h grpc.UnaryHandler) (any, error) {
		md, _ := metadata.FromIncomingContext(ctx)
		_, hasDeadline := ctx.Deadline()
		calls <- seen{md.Get("authorization"), hasDeadline}
		if req.(*healthpb.HealthCheckRequest).GetService() == "forbidden" {
			return nil, errs.PermissionDenied("you may not ask that")
		}
		return h(ctx, req)
	}
	ctx, cancel := context.WithCancel(context.Background())
	s, err := New(ctx, Config{ServiceName: "test.Svc", GRPCAddr: "127.0.0.1:0", AdminAddr: "127.0.0.1:0"},
		slog.New(slog.NewJSONHandler(io.Discard, nil)), WithUnaryInterceptors(guard))
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- s.Serve(ctx) }()
	t.Cleanup(func() { cancel(); <-done })

	conn, err := dial.Dial(dial.LocalScheme+s.GRPCAddr(), dial.WithTokenSource(auth.StaticToken("t0k")), dial.WithDefaultTimeout(time.Second))
	if err != nil {
		t.Fatal(err)
	}
	health := healthpb.NewHealthClient(conn)
	var header metadata.MD
	callCtx := metadata.AppendToOutgoingContext(context.Background(), "x-request-id", "req-7")
	testkitEventually(t, func() bool {
		resp, err := health.Check(callCtx, &healthpb.HealthCheckRequest{Service: "test.Svc"}, grpc.Header(&header))
		return err == nil && resp.GetStatus() == healthpb.HealthCheckResponse_SERVING
	})
	if got := header.Get("x-request-id"); len(got) != 1 || got[0] != "req-7" {
		t.Errorf("request id echoed as %v", got)
	}
	got := <-calls
	if len(got.authorization) != 1 || got.authorization[0] != "Bearer t0k" || !got.deadline {
		t.Errorf("handler saw authorization %v, deadline %v", got.authorization, got.deadline)
	}
	_, err = health.Check(context.Background(), &healthpb.HealthCheckRequest{Service: "forbidden"})
	st := status.Convert(err)
	if st.Code() != codes.PermissionDenied || len(st.Details()) == 0 {
		t.Fatalf("error %v with details %v, want PERMISSION_DENIED mapped to a status with ErrorInfo", err, st.Details())
	}
	if info, ok := st.Details()[0].(*errdetails.ErrorInfo); !ok || info.GetReason() != "PERMISSION_DENIED" {
		t.Errorf("details %v", st.Details())
	}
	if _, err := dial.Dial(dial.LocalScheme + "127.0.0.1:1"); err == nil {
		t.Error("dialing an address no server of this process has succeeded")
	}
}

func testkitEventually(t *testing.T, ok func() bool) {
	t.Helper()
	for deadline := time.Now().Add(5 * time.Second); !ok(); time.Sleep(20 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatal("condition not met within 5s")
		}
	}
}
