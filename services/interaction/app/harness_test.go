package app

import (
	"context"
	"io"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	customerv1 "github.com/kehu-crm/kehu/pkg/api/kehu/customer/v1"
	interactionv1 "github.com/kehu-crm/kehu/pkg/api/kehu/interaction/v1"
	"github.com/kehu-crm/kehu/pkg/auth"
	"github.com/kehu-crm/kehu/pkg/testdb"
	"github.com/kehu-crm/kehu/pkg/testkit"
	customerapp "github.com/kehu-crm/kehu/services/customer/app"
	customermigrations "github.com/kehu-crm/kehu/services/customer/migrations"
	"github.com/kehu-crm/kehu/services/interaction/migrations"
)

// env is a customer service and an interaction service on one fresh
// database (each in its own schema), with clients.
type env struct {
	customers    customerv1.CustomerServiceClient
	interactions interactionv1.InteractionServiceClient
	app          *App
	cfg          Config
	dbURL        string
}

// start boots both services. The background worker is off (tests run it
// by hand with RunWorkerOnce); the customer event follower is on.
func start(t testing.TB, tweak ...func(*Config)) *env {
	t.Helper()
	dbURL := testdb.New(t, customermigrations.All, migrations.All)
	logger := slog.New(slog.NewJSONHandler(io.Discard, nil))
	ctx := context.Background()

	cust, err := customerapp.New(ctx, customerapp.Config{
		Service: testkit.ServiceConfig(dbURL), DefaultPhoneRegion: "CN",
		MembershipTiers: "SILVER=1000,GOLD=5000,PLATINUM=20000", CacheTTL: time.Minute, PIIResealInterval: time.Hour,
	}, logger)
	if err != nil {
		t.Fatalf("customer service: %v", err)
	}
	testkit.Serve(t, cust.Serve)

	cfg := Config{
		Service: testkit.ServiceConfig(dbURL), CustomerAddr: cust.GRPCAddr(), CustomerTimeout: 5 * time.Second,
		FollowUpGrace: 24 * time.Hour, WorkerInterval: 0, CareTimeZone: "Asia/Shanghai", FollowCustomers: true,
	}
	for _, f := range tweak {
		f(&cfg)
	}
	a, err := New(ctx, cfg, logger)
	if err != nil {
		t.Fatalf("interaction service: %v", err)
	}
	testkit.Serve(t, a.Serve)
	return &env{
		customers:    customerv1.NewCustomerServiceClient(testkit.Dial(t, cust.GRPCAddr())),
		interactions: interactionv1.NewInteractionServiceClient(testkit.Dial(t, a.GRPCAddr())),
		app:          a, cfg: cfg, dbURL: dbURL,
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
	testkit.Serve(t, a.Serve)
	return a
}

func (e *env) as(t testing.TB, subject string, role auth.Role) context.Context {
	return testkit.As(t, subject, role)
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

// project writes the interaction service's projection of a customer
// directly, as a follower that applied an event the customer service has
// since superseded would have left it.
func (e *env) project(t testing.TB, customerName, manager string) {
	t.Helper()
	ctx := context.Background()
	conn, err := pgx.Connect(ctx, e.dbURL)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(ctx)
	if _, err := conn.Exec(ctx, `INSERT INTO `+migrations.Schema+`.customers (id, account_manager) VALUES ($1, $2)
		ON CONFLICT (id) DO UPDATE SET account_manager = excluded.account_manager`,
		strings.TrimPrefix(customerName, "customers/"), manager); err != nil {
		t.Fatal(err)
	}
}
