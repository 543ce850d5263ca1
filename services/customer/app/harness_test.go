package app

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"os"
	"testing"
	"time"

	"google.golang.org/genproto/googleapis/rpc/errdetails"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"

	customerv1 "github.com/kehu-crm/kehu/pkg/api/kehu/customer/v1"
	"github.com/kehu-crm/kehu/pkg/auth"
	"github.com/kehu-crm/kehu/pkg/config"
	"github.com/kehu-crm/kehu/pkg/service"
	"github.com/kehu-crm/kehu/pkg/testdb"
	"github.com/kehu-crm/kehu/services/customer/migrations"
)

const testSecret = "test-secret-that-is-at-least-32-bytes-long"

// env is one customer service on a fresh database, with a client.
type env struct {
	client customerv1.CustomerServiceClient
	signer *auth.Signer
	dbURL  string
	app    *service.Service
}

func redisURL() string {
	if u := os.Getenv("KEHU_REDIS_URL"); u != "" {
		return u
	}
	return "redis://127.0.0.1:6379/0"
}

// start boots the service on random ports against its own database.
func start(t testing.TB, tweak ...func(*Config)) *env {
	t.Helper()
	dbURL := testdb.New(t, migrations.All)
	cfg := Config{
		Service: config.Service{
			GRPCAddr: "127.0.0.1:0", AdminAddr: "127.0.0.1:0",
			DatabaseURL: dbURL, RedisURL: redisURL(),
			JWTIssuer: "kehu", JWTAudience: "kehu", JWTSecret: testSecret,
			ShutdownTimeout: 5 * time.Second, MaxConnectionAge: time.Minute, LogLevel: "error",
		},
		DefaultPhoneRegion: "CN",
		MembershipTiers:    "SILVER=1000,GOLD=5000,PLATINUM=20000",
		CacheTTL:           time.Minute,
	}
	for _, f := range tweak {
		f(&cfg)
	}
	ctx, cancel := context.WithCancel(context.Background())
	logger := slog.New(slog.NewJSONHandler(io.Discard, nil))
	a, err := New(ctx, cfg, logger)
	if err != nil {
		cancel()
		t.Fatalf("starting customer service: %v", err)
	}
	done := make(chan error, 1)
	go func() { done <- a.Serve(ctx) }()
	conn, err := grpc.NewClient(a.GRPCAddr(), grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		conn.Close()
		cancel()
		if err := <-done; err != nil {
			t.Errorf("serve: %v", err)
		}
	})
	signer, err := auth.NewHS256Signer(testSecret, "kehu", "kehu")
	if err != nil {
		t.Fatal(err)
	}
	return &env{client: customerv1.NewCustomerServiceClient(conn), signer: signer, dbURL: dbURL, app: a}
}

// as returns a context carrying a token for subject with role.
func (e *env) as(t testing.TB, subject string, role auth.Role) context.Context {
	t.Helper()
	tok, err := e.signer.Sign(subject, []auth.Role{role}, time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	t.Cleanup(cancel)
	return metadata.AppendToOutgoingContext(ctx, "authorization", "Bearer "+tok)
}

func (e *env) admin(t testing.TB) context.Context   { return e.as(t, "root", auth.RoleAdmin) }
func (e *env) manager(t testing.TB) context.Context { return e.as(t, "mia", auth.RoleManager) }

// create makes a customer as a manager and fails the test on error.
func (e *env) create(t testing.TB, c *customerv1.Customer) *customerv1.Customer {
	t.Helper()
	resp, err := e.client.CreateCustomer(e.manager(t), &customerv1.CreateCustomerRequest{Customer: c})
	if err != nil {
		t.Fatalf("CreateCustomer(%s): %v", c.GetDisplayName(), err)
	}
	return resp.GetCustomer()
}

// count returns how many customers (deleted ones included) exist.
func (e *env) count(t testing.TB) int {
	t.Helper()
	n := 0
	token := ""
	for {
		resp, err := e.client.ListCustomers(e.admin(t), &customerv1.ListCustomersRequest{PageSize: 1000, ShowDeleted: true, PageToken: token})
		if err != nil {
			t.Fatalf("ListCustomers: %v", err)
		}
		n += len(resp.GetCustomers())
		if token = resp.GetNextPageToken(); token == "" {
			return n
		}
	}
}

// wantCode asserts err has the gRPC code and, when field is set, a BadRequest
// violation naming it. It returns the status for further checks.
func wantCode(t testing.TB, err error, code codes.Code, field string) *status.Status {
	t.Helper()
	if err == nil {
		t.Fatalf("got success, want %s", code)
	}
	st, ok := status.FromError(err)
	if !ok {
		t.Fatalf("error %v is not a gRPC status", err)
	}
	if st.Code() != code {
		t.Fatalf("got %s (%s), want %s", st.Code(), st.Message(), code)
	}
	var info *errdetails.ErrorInfo
	for _, d := range st.Details() {
		if i, ok := d.(*errdetails.ErrorInfo); ok {
			info = i
		}
	}
	if info == nil || info.GetReason() == "" {
		t.Errorf("status %v has no ErrorInfo with a reason", st.Proto())
	}
	if field != "" {
		var fields []string
		for _, d := range st.Details() {
			if br, ok := d.(*errdetails.BadRequest); ok {
				for _, v := range br.GetFieldViolations() {
					if v.GetField() == field {
						return st
					}
					fields = append(fields, v.GetField())
				}
			}
		}
		t.Errorf("no field violation for %q (have %v) in %v", field, fields, st.Message())
	}
	return st
}

func errorInfo(st *status.Status) *errdetails.ErrorInfo {
	for _, d := range st.Details() {
		if i, ok := d.(*errdetails.ErrorInfo); ok {
			return i
		}
	}
	return nil
}

// recvAll drains a server stream.
func recvAll[T any](t testing.TB, recv func() (T, error)) []T {
	t.Helper()
	var out []T
	for {
		m, err := recv()
		if errors.Is(err, io.EOF) {
			return out
		}
		if err != nil {
			t.Fatalf("stream: %v", err)
		}
		out = append(out, m)
	}
}
