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
	// Every declared kind has its own code, never OK; a kind without one
	// (a bug) is INTERNAL.
	seen := map[codes.Code]errs.Kind{}
	for _, kind := range errs.Kinds() {
		code := ToStatus(errs.New(kind, "SOME_REASON", "m")).Code()
		if code == codes.OK || (code == codes.Internal && kind != errs.KindInternal) {
			t.Errorf("kind %v maps to %v", kind, code)
		}
		if other, dup := seen[code]; dup {
			t.Errorf("kinds %v and %v share %v", other, kind, code)
		}
		seen[code] = kind
	}
	if got := ToStatus(errs.New(errs.Kind(1000), "SOME_REASON", "m")).Code(); got != codes.Internal {
		t.Errorf("an unknown kind maps to %v, want INTERNAL", got)
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

// TestErrorMessagesAndReasons: INVALID_ARGUMENT reads on its own in
// status.message; reasons are always UPPER_SNAKE; RetryInfo travels.
func TestErrorMessagesAndReasons(t *testing.T) {
	var v errs.Violations
	v.Add("customer.display_name", "is required")
	v.Add("customer.emails[0]", "is not an e-mail address")
	v.Add("customer.tags[3]", "is too long")
	for err, want := range map[error]string{
		v.Err():     "customer.display_name: is required (and 2 more violations)",
		v[:2].Err(): "customer.display_name: is required (and 1 more violation)",
		v[:1].Err(): "customer.display_name: is required",
		errs.InvalidField("page_size", "must not be negative"): "page_size: must not be negative",
	} {
		if got := ToStatus(err).Message(); got != want {
			t.Errorf("message %q, want %q", got, want)
		}
	}
	for reason, want := range map[string]string{
		"ETAG_MISMATCH": "ETAG_MISMATCH", "": "FAILED_PRECONDITION", "not-snake": "FAILED_PRECONDITION", "Mixed_Case": "FAILED_PRECONDITION",
	} {
		st := ToStatus(errs.FailedPrecondition(reason, "m"))
		if info := st.Details()[0].(*errdetails.ErrorInfo); info.GetReason() != want {
			t.Errorf("reason %q became %q, want %q", reason, info.GetReason(), want)
		}
	}
	st := ToStatus(errs.ResourceExhausted("RATE_LIMITED", "slow down").WithRetryAfter(1500 * time.Millisecond))
	var retry *errdetails.RetryInfo
	for _, d := range st.Details() {
		if r, ok := d.(*errdetails.RetryInfo); ok {
			retry = r
		}
	}
	if st.Code() != codes.ResourceExhausted || retry.GetRetryDelay().AsDuration() != 1500*time.Millisecond {
		t.Errorf("rate limit status %v, retry %v", st, retry)
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
	// A message over the limit is refused before any handler runs.
	if _, err := health.Check(context.Background(), &healthpb.HealthCheckRequest{Service: strings.Repeat("x", DefaultMaxMessageBytes+1)}); status.Code(err) != codes.ResourceExhausted {
		t.Errorf("oversized message: %v, want RESOURCE_EXHAUSTED", err)
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
