package app

import (
	"context"
	"io"
	"log/slog"
	"testing"
	"time"

	"google.golang.org/grpc"

	"google.golang.org/protobuf/types/known/durationpb"

	customerv1 "github.com/kehu-crm/kehu/pkg/api/kehu/customer/v1"
	interactionv1 "github.com/kehu-crm/kehu/pkg/api/kehu/interaction/v1"
	sdv1 "github.com/kehu-crm/kehu/pkg/api/kehu/servicedesk/v1"
	"github.com/kehu-crm/kehu/pkg/auth"
	"github.com/kehu-crm/kehu/pkg/testdb"
	"github.com/kehu-crm/kehu/pkg/testkit"
	customerapp "github.com/kehu-crm/kehu/services/customer/app"
	customermigrations "github.com/kehu-crm/kehu/services/customer/migrations"
	interactionapp "github.com/kehu-crm/kehu/services/interaction/app"
	interactionmigrations "github.com/kehu-crm/kehu/services/interaction/migrations"
	"github.com/kehu-crm/kehu/services/servicedesk/migrations"
)

// env is a customer service, an interaction service and a service desk on
// one fresh database (each in its own schema), with clients.
type env struct {
	customers    customerv1.CustomerServiceClient
	interactions interactionv1.InteractionServiceClient
	desk         sdv1.ServiceDeskServiceClient
	cfg          Config
	// apps are the running replicas, the first one behind desk (deskConn).
	apps     []*App
	deskConn *grpc.ClientConn
}

func start(t testing.TB, tweak ...func(*Config)) *env {
	t.Helper()
	dbURL := testdb.New(t, customermigrations.All, interactionmigrations.All, migrations.All)
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
	inter, err := interactionapp.New(ctx, interactionapp.Config{
		Service: testkit.ServiceConfig(dbURL), CustomerAddr: cust.GRPCAddr(), CustomerTimeout: 5 * time.Second,
		FollowUpGrace: 24 * time.Hour, CareTimeZone: "Asia/Shanghai", FollowCustomers: true,
	}, logger)
	if err != nil {
		t.Fatalf("interaction service: %v", err)
	}
	testkit.Serve(t, inter.Serve)
	// The workers are off: tests run it by hand with RunSLAOnce.
	cfg := Config{Service: testkit.ServiceConfig(dbURL), CustomerAddr: cust.GRPCAddr(), CustomerTimeout: 5 * time.Second,
		InteractionAddr: inter.GRPCAddr(), InteractionTimeout: 5 * time.Second, VisitDelay: 72 * time.Hour,
		ReopenWindow: 7 * 24 * time.Hour, SLAAtRisk: 0.75,
		SurveyKind: "CSAT", SurveyTTL: 14 * 24 * time.Hour, LowScore: "reopen", SurveyRate: 10, FollowCustomers: true}
	for _, f := range tweak {
		f(&cfg)
	}
	e := &env{
		customers:    customerv1.NewCustomerServiceClient(testkit.Dial(t, cust.GRPCAddr())),
		interactions: interactionv1.NewInteractionServiceClient(testkit.Dial(t, inter.GRPCAddr())),
		cfg:          cfg,
	}
	e.desk = e.replica(t)
	e.deskConn = testkit.Dial(t, e.apps[0].GRPCAddr())
	return e
}

// replica starts another service desk on the same database, as a second
// pod would, and returns a client of it.
func (e *env) replica(t testing.TB) sdv1.ServiceDeskServiceClient {
	t.Helper()
	a, err := New(context.Background(), e.cfg, slog.New(slog.NewJSONHandler(io.Discard, nil)))
	if err != nil {
		t.Fatalf("service desk: %v", err)
	}
	testkit.Serve(t, a.Serve)
	e.apps = append(e.apps, a)
	return sdv1.NewServiceDeskServiceClient(testkit.Dial(t, a.GRPCAddr()))
}

func (e *env) as(t testing.TB, subject string, role auth.Role) context.Context {
	return testkit.As(t, subject, role)
}

func (e *env) manager(t testing.TB) context.Context { return e.as(t, "mia", auth.RoleManager) }

func (e *env) customer(t testing.TB, c *customerv1.Customer) string {
	t.Helper()
	resp, err := e.customers.CreateCustomer(e.manager(t), &customerv1.CreateCustomerRequest{Customer: c, AllowDuplicates: true})
	if err != nil {
		t.Fatalf("CreateCustomer: %v", err)
	}
	return resp.GetCustomer().GetName()
}

// roundTheClock is a calendar that always works, so due times are plain
// arithmetic in tests of the workflow (calendar_test.go covers business
// time).
func roundTheClock() *sdv1.BusinessCalendar {
	c := &sdv1.BusinessCalendar{TimeZone: "Asia/Shanghai"}
	for d := sdv1.DayOfWeek_DAY_OF_WEEK_MONDAY; d <= sdv1.DayOfWeek_DAY_OF_WEEK_SUNDAY; d++ {
		c.WorkingHours = append(c.WorkingHours, &sdv1.WorkingHours{Day: d, Start: "00:00", End: "24:00"})
	}
	return c
}

func (e *env) policy(t testing.TB, id string, p *sdv1.SlaPolicy) {
	t.Helper()
	if p.Calendar == nil {
		p.Calendar = roundTheClock()
	}
	if _, err := e.desk.CreateSlaPolicy(e.manager(t), &sdv1.CreateSlaPolicyRequest{SlaPolicyId: id, SlaPolicy: p}); err != nil {
		t.Fatalf("CreateSlaPolicy %s: %v", id, err)
	}
}

func (e *env) queue(t testing.TB, id string, q *sdv1.Queue) {
	t.Helper()
	if _, err := e.desk.CreateQueue(e.manager(t), &sdv1.CreateQueueRequest{QueueId: id, Queue: q}); err != nil {
		t.Fatalf("CreateQueue %s: %v", id, err)
	}
}

func members(users ...string) []*sdv1.QueueMember {
	var out []*sdv1.QueueMember
	for _, u := range users {
		out = append(out, &sdv1.QueueMember{User: u, Available: true})
	}
	return out
}

func hours(h float64) *durationpb.Duration {
	return durationpb.New(time.Duration(h * float64(time.Hour)))
}

func inquiry(customer, subject string) *sdv1.Ticket {
	return &sdv1.Ticket{Customer: customer, Type: sdv1.TicketType_TICKET_TYPE_INQUIRY, Channel: sdv1.Channel_CHANNEL_HOTLINE, Subject: subject, Description: "The customer said: " + subject}
}

func must[T any](t testing.TB) func(T, error) T {
	return func(v T, err error) T {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
		return v
	}
}
