package app

import (
	"context"
	"io"
	"log/slog"
	"os"
	"testing"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/metadata"

	customerv1 "github.com/kehu-crm/kehu/pkg/api/kehu/customer/v1"
	interactionv1 "github.com/kehu-crm/kehu/pkg/api/kehu/interaction/v1"
	"github.com/kehu-crm/kehu/pkg/auth"
	"github.com/kehu-crm/kehu/pkg/config"
	"github.com/kehu-crm/kehu/pkg/testdb"
	customerapp "github.com/kehu-crm/kehu/services/customer/app"
	customermigrations "github.com/kehu-crm/kehu/services/customer/migrations"
	"github.com/kehu-crm/kehu/services/interaction/migrations"
)

const testSecret = "test-secret-that-is-at-least-32-bytes-long"

// env is a customer service and an interaction service on one fresh
// database (each in its own schema), with clients.
type env struct {
	customers    customerv1.CustomerServiceClient
	interactions interactionv1.InteractionServiceClient
	app          *App
	cfg          Config
	signer       *auth.Signer
	dbURL        string
}

func redisURL() string {
	if u := os.Getenv("KEHU_REDIS_URL"); u != "" {
		return u
	}
	return "redis://127.0.0.1:6379/0"
}

func serviceConfig(dbURL string) config.Service {
	return config.Service{
		GRPCAddr: "127.0.0.1:0", AdminAddr: "127.0.0.1:0",
		DatabaseURL: dbURL, RedisURL: redisURL(),
		JWTIssuer: "kehu", JWTAudience: "kehu", JWTSecret: testSecret,
		ShutdownTimeout: 5 * time.Second, MaxConnectionAge: time.Minute, LogLevel: "error",
	}
}

func serve(t testing.TB, run func(context.Context) error) context.CancelFunc {
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- run(ctx) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("serve: %v", err)
		}
	})
	return cancel
}

func dialTest(t testing.TB, addr string) *grpc.ClientConn {
	conn, err := grpc.NewClient(addr, grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close() })
	return conn
}

// start boots both services. The background worker is off (tests run it
// by hand with RunWorkerOnce); the customer event follower is on.
func start(t testing.TB, tweak ...func(*Config)) *env {
	t.Helper()
	dbURL := testdb.New(t,
		customermigrations.All,
		migrations.All)
	logger := slog.New(slog.NewJSONHandler(io.Discard, nil))
	ctx := context.Background()

	cust, err := customerapp.New(ctx, customerapp.Config{
		Service: serviceConfig(dbURL), DefaultPhoneRegion: "CN",
		MembershipTiers: "SILVER=1000,GOLD=5000,PLATINUM=20000", CacheTTL: time.Minute,
	}, logger)
	if err != nil {
		t.Fatalf("customer service: %v", err)
	}
	serve(t, cust.Serve)

	cfg := Config{
		Service: serviceConfig(dbURL), CustomerAddr: cust.GRPCAddr(), CustomerTimeout: 5 * time.Second,
		FollowUpGrace: 24 * time.Hour, WorkerInterval: 0, CareTimeZone: "Asia/Shanghai", FollowCustomers: true,
	}
	for _, f := range tweak {
		f(&cfg)
	}
	a, err := New(ctx, cfg, logger)
	if err != nil {
		t.Fatalf("interaction service: %v", err)
	}
	serve(t, a.Serve)
	signer, err := auth.NewHS256Signer(testSecret, "kehu", "kehu")
	if err != nil {
		t.Fatal(err)
	}
	return &env{
		customers:    customerv1.NewCustomerServiceClient(dialTest(t, cust.GRPCAddr())),
		interactions: interactionv1.NewInteractionServiceClient(dialTest(t, a.GRPCAddr())),
		app:          a, cfg: cfg, signer: signer, dbURL: dbURL,
	}
}

// second starts another interaction service replica on the same database,
// as a second pod would.
func (e *env) second(t testing.TB) *App {
	t.Helper()
	a, err := New(context.Background(), e.cfg, slog.New(slog.NewJSONHandler(io.Discard, nil)))
	if err != nil {
		t.Fatal(err)
	}
	serve(t, a.Serve)
	return a
}

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

func (e *env) manager(t testing.TB) context.Context { return e.as(t, "mia", auth.RoleManager) }

// customer creates a customer in the customer service.
func (e *env) customer(t testing.TB, c *customerv1.Customer) *customerv1.Customer {
	t.Helper()
	resp, err := e.customers.CreateCustomer(e.manager(t), &customerv1.CreateCustomerRequest{Customer: c, AllowDuplicates: true})
	if err != nil {
		t.Fatalf("CreateCustomer: %v", err)
	}
	return resp.GetCustomer()
}

// eventually retries check until it passes or 15 s pass: for effects of
// the asynchronous customer event follower.
func eventually(t testing.TB, what string, check func() bool) {
	t.Helper()
	deadline := time.Now().Add(15 * time.Second)
	for !check() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(50 * time.Millisecond)
	}
}
