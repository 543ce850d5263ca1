package app

import (
	"context"
	"io"
	"log/slog"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"google.golang.org/grpc"

	analyticsv1 "github.com/kehu-crm/kehu/pkg/api/kehu/analytics/v1"
	customerv1 "github.com/kehu-crm/kehu/pkg/api/kehu/customer/v1"
	interactionv1 "github.com/kehu-crm/kehu/pkg/api/kehu/interaction/v1"
	sdv1 "github.com/kehu-crm/kehu/pkg/api/kehu/servicedesk/v1"
	"github.com/kehu-crm/kehu/pkg/auth"
	"github.com/kehu-crm/kehu/pkg/testdb"
	"github.com/kehu-crm/kehu/pkg/testkit"
	"github.com/kehu-crm/kehu/services/analytics/migrations"
	customerapp "github.com/kehu-crm/kehu/services/customer/app"
	customermigrations "github.com/kehu-crm/kehu/services/customer/migrations"
	interactionapp "github.com/kehu-crm/kehu/services/interaction/app"
	interactionmigrations "github.com/kehu-crm/kehu/services/interaction/migrations"
	servicedeskapp "github.com/kehu-crm/kehu/services/servicedesk/app"
	servicedeskmigrations "github.com/kehu-crm/kehu/services/servicedesk/migrations"
)

// env is the suite the analytics service follows (customer, interaction,
// service desk) and the analytics service, on one fresh database.
type env struct {
	customers    customerv1.CustomerServiceClient
	interactions interactionv1.InteractionServiceClient
	desk         sdv1.ServiceDeskServiceClient
	deskConn     *grpc.ClientConn
	analytics    analyticsv1.AnalyticsServiceClient
	app          *App
	dbURL        string
	// stopFirst stops the first analytics replica (app) as a crash would
	// end its leadership.
	stopFirst func()
}

func start(t testing.TB, tweak ...func(*Config)) *env {
	t.Helper()
	dbURL := testdb.New(t, customermigrations.All, interactionmigrations.All, servicedeskmigrations.All, migrations.All)
	logger := slog.New(slog.NewJSONHandler(io.Discard, nil))
	ctx := context.Background()
	service := testkit.ServiceConfig(dbURL)
	cust, err := customerapp.New(ctx, customerapp.Config{Service: service, DefaultPhoneRegion: "CN",
		MembershipTiers: "SILVER=1000,GOLD=5000,PLATINUM=20000", CacheTTL: time.Minute, PIIResealInterval: time.Hour}, logger)
	if err != nil {
		t.Fatal(err)
	}
	testkit.Serve(t, cust.Serve)
	inter, err := interactionapp.New(ctx, interactionapp.Config{Service: service, CustomerAddr: cust.GRPCAddr(), CustomerTimeout: 5 * time.Second,
		FollowUpGrace: 24 * time.Hour, CareTimeZone: "Asia/Shanghai", FollowCustomers: true}, logger)
	if err != nil {
		t.Fatal(err)
	}
	testkit.Serve(t, inter.Serve)
	desk, err := servicedeskapp.New(ctx, servicedeskapp.Config{Service: service, CustomerAddr: cust.GRPCAddr(), CustomerTimeout: 5 * time.Second,
		InteractionAddr: inter.GRPCAddr(), InteractionTimeout: 5 * time.Second, VisitDelay: 72 * time.Hour, ReopenWindow: time.Hour,
		SLAAtRisk: 0.75, SurveyKind: "CSAT", SurveyTTL: time.Hour, LowScore: "none", SurveyRate: 10, FollowCustomers: true}, logger)
	if err != nil {
		t.Fatal(err)
	}
	testkit.Serve(t, desk.Serve)
	cfg := Config{Service: service, CustomerAddr: cust.GRPCAddr(), InteractionAddr: inter.GRPCAddr(), ServiceDeskAddr: desk.GRPCAddr(),
		Follow: true, Currency: "CNY", ShareA: 0.8, ShareB: 0.95, Lifecycle: lifecycleDefaults,
		// Memory holds entries as long as Redis: only invalidations keep
		// replicas current, never a short expiry.
		CacheTTL: time.Minute, LocalCacheTTL: time.Minute, LocalCacheEntries: 10_000,
		Webhooks: Webhooks{Timeout: 2 * time.Second, RetryPeriod: 2 * time.Second, BackoffBase: 20 * time.Millisecond, BackoffMax: 200 * time.Millisecond,
			DisableAfter: 3, AllowPrivateTargets: true, LogRetention: time.Hour}}
	cfg.Environment = "development" // plain http to the test receivers
	for _, f := range tweak {
		f(&cfg)
	}
	a, err := New(ctx, cfg, logger)
	if err != nil {
		t.Fatal(err)
	}
	aCtx, stopA := context.WithCancel(ctx)
	aDone := make(chan error, 1)
	go func() { aDone <- a.Serve(aCtx) }()
	stopFirst := func() {
		stopA()
		<-aDone
	}
	t.Cleanup(func() {
		if aCtx.Err() == nil {
			stopFirst()
		}
	})
	deskConn := testkit.Dial(t, desk.GRPCAddr())
	return &env{
		customers:    customerv1.NewCustomerServiceClient(testkit.Dial(t, cust.GRPCAddr())),
		interactions: interactionv1.NewInteractionServiceClient(testkit.Dial(t, inter.GRPCAddr())),
		desk:         sdv1.NewServiceDeskServiceClient(deskConn),
		deskConn:     deskConn,
		analytics:    analyticsv1.NewAnalyticsServiceClient(testkit.Dial(t, a.GRPCAddr())),
		app:          a,
		dbURL:        dbURL,
		stopFirst:    stopFirst,
	}
}

// replica starts another analytics replica on the same database and Redis
// (with the first's configuration, tweaked) and returns its address. It
// follows no stream while the first holds their locks.
func (e *env) replica(t testing.TB, tweak ...func(*Config)) string {
	t.Helper()
	cfg := e.app.cfg
	for _, f := range tweak {
		f(&cfg)
	}
	a, err := New(context.Background(), cfg, slog.New(slog.NewJSONHandler(io.Discard, nil)))
	if err != nil {
		t.Fatal(err)
	}
	testkit.Serve(t, a.Serve)
	return a.GRPCAddr()
}

// complaint opens a complaint ticket for customer, resolves it, and has
// the customer rate it score (CSAT) through the survey link.
func (e *env) complaint(t testing.TB, customer string, score int32) {
	t.Helper()
	mgr := testkit.As(t, "mia", auth.RoleManager)
	tk, err := e.desk.CreateTicket(mgr, &sdv1.CreateTicketRequest{Ticket: &sdv1.Ticket{Customer: customer, Type: sdv1.TicketType_TICKET_TYPE_COMPLAINT,
		Channel: sdv1.Channel_CHANNEL_HOTLINE, Subject: "Wrong order again"}})
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range []sdv1.Status{sdv1.Status_STATUS_OPEN, sdv1.Status_STATUS_RESOLVED} {
		if _, err := e.desk.TransitionTicket(mgr, &sdv1.TransitionTicketRequest{Name: tk.GetTicket().GetName(), Status: s, RootCause: "picking", ResolutionSummary: "Resent"}); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := e.desk.AnswerSurvey(context.Background(), &sdv1.AnswerSurveyRequest{Token: testkit.SurveyToken(t, e.deskConn, tk.GetTicket().GetName()), Score: score}); err != nil {
		t.Fatal(err)
	}
}

// readModel connects straight to the analytics schema, for tests that
// write a generated base into the read model.
func (e *env) readModel(t testing.TB) *pgx.Conn {
	t.Helper()
	ctx := context.Background()
	conn, err := pgx.Connect(ctx, e.dbURL)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close(ctx) })
	if _, err := conn.Exec(ctx, "SET search_path TO "+migrations.Schema); err != nil {
		t.Fatal(err)
	}
	return conn
}

// rebuildRollups recomputes the dashboards' rollups from a read model
// written straight into its tables (as the migration and a resync do).
func rebuildRollups(t testing.TB, conn *pgx.Conn) {
	t.Helper()
	if _, err := conn.Exec(context.Background(), "SELECT rollups_rebuild()"); err != nil {
		t.Fatal(err)
	}
}

// wholeMonths is [start, end) widened to whole UTC months, as the
// rollup-backed dashboards take their periods.
func wholeMonths(start, end time.Time) (time.Time, time.Time) {
	month := func(t time.Time) time.Time { return time.Date(t.Year(), t.Month(), 1, 0, 0, 0, 0, time.UTC) }
	start, end = month(start.UTC()), end.UTC()
	if m := month(end); !m.Equal(end) {
		end = m.AddDate(0, 1, 0)
	}
	return start, end
}

// lifecycleDefaults are the documented defaults of the automatic lifecycle.
var lifecycleDefaults = Lifecycle{LoyalPurchases: 5, LoyalTenure: 180 * 24 * time.Hour, AtRiskFactor: 2, ChurnFactor: 4,
	AtRiskAfter: 120 * 24 * time.Hour, ChurnAfter: 365 * 24 * time.Hour, ManualHold: 30 * 24 * time.Hour, ChurnThreshold: 70}
