package app

import (
	"context"
	"io"
	"log/slog"
	"testing"
	"time"

	customerv1 "github.com/kehu-crm/kehu/pkg/api/kehu/customer/v1"
	"github.com/kehu-crm/kehu/pkg/auth"
	"github.com/kehu-crm/kehu/pkg/service"
	"github.com/kehu-crm/kehu/pkg/testdb"
	"github.com/kehu-crm/kehu/pkg/testkit"
	"github.com/kehu-crm/kehu/services/customer/migrations"
)

// env is one customer service on a fresh database, with a client.
type env struct {
	client customerv1.CustomerServiceClient
	dbURL  string
	cfg    Config
	app    *service.Service
}

// start boots the service on random ports against its own database.
func start(t testing.TB, tweak ...func(*Config)) *env {
	t.Helper()
	dbURL := testdb.New(t, migrations.All)
	cfg := Config{
		Service:            testkit.ServiceConfig(dbURL),
		DefaultPhoneRegion: "CN",
		MembershipTiers:    "SILVER=1000,GOLD=5000,PLATINUM=20000",
		CacheTTL:           time.Minute,
		LocalCacheTTL:      5 * time.Second,
		LocalCacheEntries:  10_000,
		PIIResealInterval:  time.Hour,
	}
	for _, f := range tweak {
		f(&cfg)
	}
	e := &env{dbURL: dbURL, cfg: cfg}
	e.client, e.app = e.boot(t, cfg)
	return e
}

// replica starts another customer service on the same database and Redis.
func (e *env) replica(t testing.TB) customerv1.CustomerServiceClient {
	client, _ := e.boot(t, e.cfg)
	return client
}

func (e *env) boot(t testing.TB, cfg Config) (customerv1.CustomerServiceClient, *service.Service) {
	t.Helper()
	a, err := New(context.Background(), cfg, slog.New(slog.NewJSONHandler(io.Discard, nil)))
	if err != nil {
		t.Fatalf("starting customer service: %v", err)
	}
	testkit.Serve(t, a.Serve)
	return customerv1.NewCustomerServiceClient(testkit.Dial(t, a.GRPCAddr())), a
}

func (e *env) as(t testing.TB, subject string, role auth.Role) context.Context {
	return testkit.As(t, subject, role)
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
