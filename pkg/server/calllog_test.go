package server

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"testing"

	healthpb "google.golang.org/grpc/health/grpc_health_v1"
	"google.golang.org/grpc/metadata"

	customerv1 "github.com/kehu-crm/kehu/pkg/api/kehu/customer/v1"
	"github.com/kehu-crm/kehu/pkg/dial"
	"github.com/kehu-crm/kehu/pkg/errs"
)

// customers answers GetCustomer, refusing the name "bad".
type customers struct {
	customerv1.UnimplementedCustomerServiceServer
}

func (customers) GetCustomer(_ context.Context, req *customerv1.GetCustomerRequest) (*customerv1.GetCustomerResponse, error) {
	if req.GetName() == "bad" {
		return nil, errs.InvalidField("name", "is bad")
	}
	return &customerv1.GetCustomerResponse{Customer: &customerv1.Customer{Name: req.GetName()}}, nil
}

// lockedBuffer is a log sink safe for the server's goroutines.
type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) lines(t *testing.T) []map[string]any {
	l.mu.Lock()
	defer l.mu.Unlock()
	var out []map[string]any
	for _, line := range strings.Split(strings.TrimSpace(l.b.String()), "\n") {
		if line == "" {
			continue
		}
		var m map[string]any
		if err := json.Unmarshal([]byte(line), &m); err != nil {
			t.Fatalf("log line %q: %v", line, err)
		}
		out = append(out, m)
	}
	return out
}

// TestCallLog: at info a failed call is one line with its method, code,
// duration and request id, a successful one none; at debug both are.
func TestCallLog(t *testing.T) {
	for _, level := range []slog.Level{slog.LevelInfo, slog.LevelDebug} {
		t.Run(level.String(), func(t *testing.T) {
			var sink lockedBuffer
			logger := slog.New(slog.NewJSONHandler(&sink, &slog.HandlerOptions{Level: level}))
			ctx, cancel := context.WithCancel(context.Background())
			s, err := New(ctx, Config{ServiceName: "test.Svc", GRPCAddr: "127.0.0.1:0", AdminAddr: "127.0.0.1:0"}, logger)
			if err != nil {
				t.Fatal(err)
			}
			customerv1.RegisterCustomerServiceServer(s.GRPC(), customers{})
			done := make(chan error, 1)
			go func() { done <- s.Serve(ctx) }()
			t.Cleanup(func() { cancel(); <-done })
			conn, err := dial.Dial(dial.LocalScheme + s.GRPCAddr())
			if err != nil {
				t.Fatal(err)
			}
			health := healthpb.NewHealthClient(conn)
			testkitEventually(t, func() bool {
				_, err := health.Check(context.Background(), &healthpb.HealthCheckRequest{Service: "test.Svc"})
				return err == nil
			})
			client := customerv1.NewCustomerServiceClient(conn)
			if _, err := client.GetCustomer(context.Background(), &customerv1.GetCustomerRequest{Name: "customers/1"}); err != nil {
				t.Fatal(err)
			}
			call := metadata.AppendToOutgoingContext(context.Background(), "x-request-id", "req-bad")
			if _, err := client.GetCustomer(call, &customerv1.GetCustomerRequest{Name: "bad"}); err == nil {
				t.Fatal("the bad call succeeded")
			}
			var calls []map[string]any
			for _, l := range sink.lines(t) {
				if l["msg"] == "finished call" {
					calls = append(calls, l)
				}
			}
			want := 1 // the failure
			if level == slog.LevelDebug {
				want = 2
			}
			if len(calls) != want {
				t.Fatalf("%d call lines at %s, want %d (health probes never): %v", len(calls), level, want, calls)
			}
			bad := calls[len(calls)-1]
			if bad["grpc.method"] != "GetCustomer" || bad["grpc.service"] != "kehu.customer.v1.CustomerService" || bad["grpc.code"] != "InvalidArgument" ||
				bad["level"] != "INFO" || bad["grpc.time_ms"] == nil || !strings.Contains(fmt.Sprint(bad["grpc.error"]), "is bad") {
				t.Errorf("failed call logged as %v", bad)
			}
		})
	}
}
