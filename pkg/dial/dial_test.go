package dial

import (
	"context"
	"net"
	"sync/atomic"
	"testing"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/health"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"

	customerv1 "github.com/kehu-crm/kehu/pkg/api/kehu/customer/v1"
	"github.com/kehu-crm/kehu/pkg/auth"
)

// backend is a health server whose Check answers are scripted, counting
// the calls it sees.
type backend struct {
	healthpb.UnimplementedHealthServer
	calls atomic.Int64
	check func(ctx context.Context, n int64) error
}

func (b *backend) Check(ctx context.Context, _ *healthpb.HealthCheckRequest) (*healthpb.HealthCheckResponse, error) {
	n := b.calls.Add(1)
	if b.check != nil {
		if err := b.check(ctx, n); err != nil {
			return nil, err
		}
	}
	return &healthpb.HealthCheckResponse{Status: healthpb.HealthCheckResponse_SERVING}, nil
}

// Watch serves client-side health checking (round_robin skips replicas
// that are not SERVING).
func (b *backend) Watch(req *healthpb.HealthCheckRequest, s healthpb.Health_WatchServer) error {
	return health.NewServer().Watch(req, s)
}

func serve(t *testing.T, b *backend) (string, *grpc.Server) {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	s := grpc.NewServer()
	healthpb.RegisterHealthServer(s, b)
	go func() { _ = s.Serve(l) }()
	t.Cleanup(s.Stop)
	return l.Addr().String(), s
}

func TestRoundRobinOverAddresses(t *testing.T) {
	var bs [3]backend
	var addrs string
	for i := range bs {
		a, _ := serve(t, &bs[i])
		if i > 0 {
			addrs += ","
		}
		addrs += a
	}
	conn, err := Dial(addrs)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	client := healthpb.NewHealthClient(conn)
	// Let every subchannel connect, then count where calls go.
	deadline := time.Now().Add(10 * time.Second)
	for bs[0].calls.Load() == 0 || bs[1].calls.Load() == 0 || bs[2].calls.Load() == 0 {
		if time.Now().After(deadline) {
			t.Fatalf("not every backend reached: %d %d %d", bs[0].calls.Load(), bs[1].calls.Load(), bs[2].calls.Load())
		}
		if _, err := client.Check(context.Background(), &healthpb.HealthCheckRequest{}); err != nil {
			t.Fatal(err)
		}
	}
	before := [3]int64{bs[0].calls.Load(), bs[1].calls.Load(), bs[2].calls.Load()}
	for range 30 {
		if _, err := client.Check(context.Background(), &healthpb.HealthCheckRequest{}); err != nil {
			t.Fatal(err)
		}
	}
	for i := range bs {
		if n := bs[i].calls.Load() - before[i]; n != 10 {
			t.Errorf("backend %d took %d of 30 calls, want 10 (round robin)", i, n)
		}
	}
}

func TestRetriesOnlyUnavailable(t *testing.T) {
	flaky := &backend{check: func(_ context.Context, n int64) error {
		if n <= 2 {
			return status.Error(codes.Unavailable, "warming up")
		}
		return nil
	}}
	broken := &backend{check: func(context.Context, int64) error { return status.Error(codes.Internal, "bug") }}
	for name, tc := range map[string]struct {
		b     *backend
		code  codes.Code
		calls int64
	}{
		"unavailable is retried on reads": {flaky, codes.OK, 3},
		"internal is not":                 {broken, codes.Internal, 1},
	} {
		t.Run(name, func(t *testing.T) {
			addr, _ := serve(t, tc.b)
			conn, err := Dial(addr)
			if err != nil {
				t.Fatal(err)
			}
			defer conn.Close()
			_, err = healthpb.NewHealthClient(conn).Check(context.Background(), &healthpb.HealthCheckRequest{})
			if status.Code(err) != tc.code || tc.b.calls.Load() != tc.calls {
				t.Fatalf("got %v after %d calls, want %v after %d", err, tc.b.calls.Load(), tc.code, tc.calls)
			}
		})
	}
}

// TestMutationsRetryOnlyWithRequestID: UNAVAILABLE may come after the
// server did the work, so a create is repeated only when its request id
// lets the server recognise the repeat.
func TestMutationsRetryOnlyWithRequestID(t *testing.T) {
	for name, tc := range map[string]struct {
		requestID string
		calls     int64
	}{
		"without request_id: sent once": {"", 1},
		"with request_id: retried":      {"r-1", maxAttempts},
	} {
		t.Run(name, func(t *testing.T) {
			var calls atomic.Int64
			l, err := net.Listen("tcp", "127.0.0.1:0")
			if err != nil {
				t.Fatal(err)
			}
			s := grpc.NewServer(grpc.UnknownServiceHandler(func(_ any, stream grpc.ServerStream) error {
				if m, _ := grpc.MethodFromServerStream(stream); m != "/kehu.customer.v1.CustomerService/CreateCustomer" {
					return status.Error(codes.Unimplemented, m) // health checking: treated as serving
				}
				calls.Add(1)
				return status.Error(codes.Unavailable, "connection reset after the insert")
			}))
			go func() { _ = s.Serve(l) }()
			t.Cleanup(s.Stop)
			conn, err := Dial(l.Addr().String())
			if err != nil {
				t.Fatal(err)
			}
			defer conn.Close()
			req := &customerv1.CreateCustomerRequest{RequestId: tc.requestID}
			err = conn.Invoke(context.Background(), "/kehu.customer.v1.CustomerService/CreateCustomer", req, &customerv1.Customer{})
			if status.Code(err) != codes.Unavailable || calls.Load() != tc.calls {
				t.Fatalf("got %v after %d calls, want UNAVAILABLE after %d", err, calls.Load(), tc.calls)
			}
		})
	}
}

func TestDefaultDeadlineAndToken(t *testing.T) {
	var sawDeadline atomic.Bool
	var sawToken atomic.Value
	b := &backend{check: func(ctx context.Context, _ int64) error {
		_, ok := ctx.Deadline()
		sawDeadline.Store(ok)
		md, _ := metadata.FromIncomingContext(ctx)
		sawToken.Store(md.Get("authorization"))
		<-ctx.Done()
		return ctx.Err()
	}}
	addr, _ := serve(t, b)
	conn, err := Dial(addr, WithDefaultTimeout(100*time.Millisecond), WithTokenSource(auth.StaticToken("t0k")))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	_, err = healthpb.NewHealthClient(conn).Check(context.Background(), &healthpb.HealthCheckRequest{})
	if status.Code(err) != codes.DeadlineExceeded || !sawDeadline.Load() {
		t.Fatalf("call without a deadline: %v (server saw deadline: %v)", err, sawDeadline.Load())
	}
	if got, _ := sawToken.Load().([]string); len(got) != 1 || got[0] != "Bearer t0k" {
		t.Fatalf("authorization %v", got)
	}
}

// Between services, a read sent while its backend is still starting
// waits for it (within the deadline) instead of failing while the channel
// backs off from the first refused connection: services start in any
// order.
func TestReadsWaitForAStartingBackend(t *testing.T) {
	t.Parallel()
	lis, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := lis.Addr().String()
	lis.Close() // nothing listens yet
	conn, err := Dial(addr, WithWaitForReady())
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	done := make(chan error, 1)
	go func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		_, err := healthpb.NewHealthClient(conn).Check(ctx, &healthpb.HealthCheckRequest{})
		done <- err
	}()
	time.Sleep(1500 * time.Millisecond) // longer than the retries' backoff
	lis, err = net.Listen("tcp", addr)
	if err != nil {
		t.Skipf("the port was taken meanwhile: %v", err)
	}
	s := grpc.NewServer()
	healthpb.RegisterHealthServer(s, &backend{})
	go func() { _ = s.Serve(lis) }()
	defer s.Stop()
	if err := <-done; err != nil {
		t.Fatalf("the read failed instead of waiting for the backend: %v", err)
	}
}
