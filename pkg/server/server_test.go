package server

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"google.golang.org/genproto/googleapis/rpc/errdetails"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials/insecure"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"

	"github.com/kehu-crm/kehu/pkg/errs"
)

func TestToStatus(t *testing.T) {
	bad := errs.InvalidField("customer.emails[0]", "is not an e-mail address")
	st := ToStatus(bad)
	if st.Code() != codes.InvalidArgument {
		t.Fatalf("code %v", st.Code())
	}
	var info *errdetails.ErrorInfo
	var br *errdetails.BadRequest
	for _, d := range st.Details() {
		switch v := d.(type) {
		case *errdetails.ErrorInfo:
			info = v
		case *errdetails.BadRequest:
			br = v
		}
	}
	if info == nil || info.GetDomain() != ErrorDomain || info.GetReason() == "" {
		t.Fatalf("ErrorInfo %v", info)
	}
	if br == nil || br.GetFieldViolations()[0].GetField() != "customer.emails[0]" {
		t.Fatalf("BadRequest %v", br)
	}
	for kind, code := range kindCodes {
		if got := ToStatus(&errs.Error{Kind: kind, Message: "m"}).Code(); got != code {
			t.Errorf("%v -> %v, want %v", kind, got, code)
		}
	}
	// Causes never reach the caller.
	for _, err := range []error{errors.New("pq: password authentication failed for secret-user"), errs.Internal(errors.New("secret cause"))} {
		st := ToStatus(err)
		if st.Code() != codes.Internal || strings.Contains(st.Message(), "secret") {
			t.Errorf("%v leaked as %v", err, st)
		}
	}
	if ToStatus(status.Error(codes.NotFound, "from another service")).Code() != codes.NotFound {
		t.Error("status from another service not passed through")
	}
	if ToStatus(context.Canceled).Code() != codes.Canceled {
		t.Error("context.Canceled not mapped")
	}
}

// TestServerLifecycle serves the health service through the full chain,
// with an interceptor that panics on demand, then shuts down.
func TestServerLifecycle(t *testing.T) {
	panicker := func(ctx context.Context, req any, info *grpc.UnaryServerInfo, h grpc.UnaryHandler) (any, error) {
		md, _ := metadata.FromIncomingContext(ctx)
		if len(md.Get("x-panic")) > 0 {
			panic("secret panic text")
		}
		return h(ctx, req)
	}
	ctx, cancel := context.WithCancel(context.Background())
	s, err := New(ctx, Config{ServiceName: "test.Svc", GRPCAddr: "127.0.0.1:0", AdminAddr: "127.0.0.1:0", ShutdownTimeout: 2 * time.Second, DrainDelay: 300 * time.Millisecond},
		slog.New(slog.NewJSONHandler(io.Discard, nil)), WithUnaryInterceptors(panicker))
	if err != nil {
		t.Fatal(err)
	}
	var dbUp atomic.Bool
	s.AddReadinessCheck("db", func(context.Context) error {
		if !dbUp.Load() {
			return errors.New("db down")
		}
		return nil
	})
	done := make(chan error, 1)
	go func() { done <- s.Serve(ctx) }()

	conn, err := grpc.NewClient(s.GRPCAddr(), grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	health := healthpb.NewHealthClient(conn)
	var header metadata.MD
	callCtx := metadata.AppendToOutgoingContext(context.Background(), "x-request-id", "req-42")
	resp, err := health.Check(callCtx, &healthpb.HealthCheckRequest{Service: "test.Svc"}, grpc.Header(&header))
	if err != nil || resp.GetStatus() != healthpb.HealthCheckResponse_SERVING {
		t.Fatalf("health: %v %v", resp, err)
	}
	if got := header.Get("x-request-id"); len(got) != 1 || got[0] != "req-42" {
		t.Errorf("request id echoed as %v", got)
	}
	_, err = health.Check(metadata.AppendToOutgoingContext(context.Background(), "x-panic", "1"), &healthpb.HealthCheckRequest{})
	if st := status.Convert(err); st.Code() != codes.Internal || strings.Contains(st.Message(), "secret") {
		t.Errorf("panic surfaced as %v", err)
	}

	get := func(path string) int {
		r, err := http.Get("http://" + s.AdminAddr() + path)
		if err != nil {
			return 0
		}
		r.Body.Close()
		return r.StatusCode
	}
	if get("/healthz") != 200 || get("/readyz") != 503 {
		t.Errorf("healthz %d, readyz with a failing check %d", get("/healthz"), get("/readyz"))
	}
	dbUp.Store(true)
	if get("/readyz") != 200 {
		t.Error("readyz not 200 once the check passes")
	}
	if r, err := http.Get("http://" + s.AdminAddr() + "/metrics"); err != nil {
		t.Fatal(err)
	} else {
		body, _ := io.ReadAll(r.Body)
		r.Body.Close()
		if !strings.Contains(string(body), `grpc_server_handled_total{grpc_code="OK",grpc_method="Check"`) {
			t.Error("metrics lack the handled health check")
		}
	}

	// Shutdown: NOT_SERVING and /readyz 503 during the drain, then stop.
	cancel()
	time.Sleep(100 * time.Millisecond)
	if get("/readyz") != 503 {
		t.Error("readyz still 200 while draining")
	}
	if resp, err := health.Check(context.Background(), &healthpb.HealthCheckRequest{Service: "test.Svc"}); err == nil && resp.GetStatus() == healthpb.HealthCheckResponse_SERVING {
		t.Error("still SERVING while draining")
	}
	if err := <-done; err != nil {
		t.Fatalf("Serve: %v", err)
	}
}
