// Package e2e boots the whole Kehu suite in-process for end-to-end
// tests: every service on its own fresh database and random ports, and the
// REST gateway in front of them, exactly as the binaries wire them. Tests
// then drive it through HTTP like a web client and through gRPC like
// another service.
package e2e

import (
	"context"
	"io"
	"log/slog"
	"net/http"
	"os"
	"sync"
	"testing"
	"time"

	"google.golang.org/grpc"

	"github.com/kehu-crm/kehu/pkg/auth"
	"github.com/kehu-crm/kehu/pkg/dial"
	"github.com/kehu-crm/kehu/pkg/testdb"
	"github.com/kehu-crm/kehu/pkg/testkit"
	analyticsapp "github.com/kehu-crm/kehu/services/analytics/app"
	analyticsmigrations "github.com/kehu-crm/kehu/services/analytics/migrations"
	customerapp "github.com/kehu-crm/kehu/services/customer/app"
	customermigrations "github.com/kehu-crm/kehu/services/customer/migrations"
	gatewayapp "github.com/kehu-crm/kehu/services/gateway/app"
	interactionapp "github.com/kehu-crm/kehu/services/interaction/app"
	interactionmigrations "github.com/kehu-crm/kehu/services/interaction/migrations"
	servicedeskapp "github.com/kehu-crm/kehu/services/servicedesk/app"
	servicedeskmigrations "github.com/kehu-crm/kehu/services/servicedesk/migrations"
)

// Suite is a running Kehu suite.
type Suite struct {
	// BaseURL is the REST gateway, e.g. "http://127.0.0.1:41234".
	BaseURL string
	// GatewayAdminURL serves the gateway's /metrics and /readyz.
	GatewayAdminURL string
	// CustomerAddr is the customer service's gRPC address.
	CustomerAddr string
	// InteractionAddr, ServiceDeskAddr and AnalyticsAddr are the other
	// services' gRPC addresses (for loading data as kehuctl demo does).
	InteractionAddr, ServiceDeskAddr, AnalyticsAddr string
	// CustomerConn is a gRPC connection to the customer service.
	CustomerConn *grpc.ClientConn
	// InteractionConn is a gRPC connection to the interaction service.
	InteractionConn *grpc.ClientConn
	// ServiceDeskConn is a gRPC connection to the service desk.
	ServiceDeskConn *grpc.ClientConn
	// Interaction is the interaction service, for driving its worker.
	Interaction *interactionapp.App
	// Analytics is the analytics service, for driving its lifecycle pass.
	Analytics *analyticsapp.App
	// WithoutRedisURL is, with Options.WithoutRedis, a second gateway
	// whose analytics replica (same database) cannot reach Redis.
	WithoutRedisURL string

	stop func()
}

// Options tweak the suite.
type Options struct {
	// MaxBodyBytes caps gateway request bodies (default 4 MiB).
	MaxBodyBytes int64
	// CORSOrigins enables CORS for these origins.
	CORSOrigins string
	// ReadHeaderTimeout bounds how long the gateway waits for a request's
	// headers (default 10 s, as in production).
	ReadHeaderTimeout time.Duration
	// WithoutRedis also starts a gateway in front of an analytics replica
	// whose Redis is unreachable (Suite.WithoutRedisURL).
	WithoutRedis bool
	// DatabaseURL is a database holding the migrated schemas, for a suite
	// that starts on another's data; default a fresh one.
	DatabaseURL string
	// RedisURL is the services' Redis; default the tests' shared one.
	RedisURL string
	// WebhookRetryPeriod is how long webhook deliveries are retried
	// (default 30 s).
	WebhookRetryPeriod time.Duration
	// OIDCIssuer is the identity provider the web console signs in with.
	OIDCIssuer string
}

// Split reports whether the suite's services reach one another over
// loopback gRPC connections, as separate processes do
// (KEHU_E2E_WIRING=split), rather than in-process as in one process
// (kehuctl dev). make test runs the end-to-end tests both ways.
func Split() bool { return os.Getenv("KEHU_E2E_WIRING") == "split" }

// peer is how a service or the gateway addresses the service at addr.
func peer(addr string) string {
	if Split() {
		return addr
	}
	return dial.LocalScheme + addr
}

// Start boots the suite and stops it when the test ends.
func Start(t testing.TB, opts Options) *Suite {
	t.Helper()
	if opts.MaxBodyBytes == 0 {
		opts.MaxBodyBytes = 4 << 20
	}
	if opts.ReadHeaderTimeout == 0 {
		opts.ReadHeaderTimeout = 10 * time.Second
	}
	if opts.WebhookRetryPeriod == 0 {
		opts.WebhookRetryPeriod = 30 * time.Second
	}
	ctx, cancel := context.WithCancel(context.Background())
	logger := slog.New(slog.NewJSONHandler(io.Discard, nil))
	var done []chan error
	stop := sync.OnceFunc(func() {
		cancel()
		for _, d := range done {
			if err := <-d; err != nil {
				t.Errorf("suite: serve: %v", err)
			}
		}
	})
	t.Cleanup(stop)
	serve := func(f func(context.Context) error) {
		d := make(chan error, 1)
		done = append(done, d)
		go func() { d <- f(ctx) }()
	}

	if opts.DatabaseURL == "" {
		opts.DatabaseURL = testdb.New(t, customermigrations.All, interactionmigrations.All, servicedeskmigrations.All, analyticsmigrations.All)
	}
	service := testkit.ServiceConfig(opts.DatabaseURL)
	if opts.RedisURL != "" {
		service.RedisURL = opts.RedisURL
	}
	customer, err := customerapp.New(ctx, customerapp.Config{
		Service: service, DefaultPhoneRegion: "CN",
		MembershipTiers: "SILVER=1000,GOLD=5000,PLATINUM=20000", CacheTTL: time.Minute, LocalCacheTTL: 5 * time.Second, LocalCacheEntries: 10_000,
		PIIResealInterval: time.Hour,
	}, logger)
	if err != nil {
		t.Fatalf("suite: customer service: %v", err)
	}
	serve(customer.Serve)

	interaction, err := interactionapp.New(ctx, interactionapp.Config{
		Service: service, CustomerAddr: peer(customer.GRPCAddr()), CustomerTimeout: 5 * time.Second,
		FollowUpGrace: 24 * time.Hour, CareTimeZone: "Asia/Shanghai", FollowCustomers: true,
	}, logger)
	if err != nil {
		t.Fatalf("suite: interaction service: %v", err)
	}
	serve(interaction.Serve)

	desk, err := servicedeskapp.New(ctx, servicedeskapp.Config{
		Service: service, CustomerAddr: peer(customer.GRPCAddr()), CustomerTimeout: 5 * time.Second, ReopenWindow: 7 * 24 * time.Hour,
		InteractionAddr: peer(interaction.GRPCAddr()), InteractionTimeout: 5 * time.Second, VisitDelay: 72 * time.Hour,
		SLAAtRisk: 0.75, SurveyKind: "CSAT", SurveyTTL: 14 * 24 * time.Hour, LowScore: "reopen", SurveyRate: 10,
		FollowCustomers: true,
	}, logger)
	if err != nil {
		t.Fatalf("suite: service desk: %v", err)
	}
	serve(desk.Serve)

	analyticsCfg := analyticsapp.Config{
		Service: service, CustomerAddr: peer(customer.GRPCAddr()), InteractionAddr: peer(interaction.GRPCAddr()), ServiceDeskAddr: peer(desk.GRPCAddr()),
		Follow: true, Currency: "CNY", ShareA: 0.8, ShareB: 0.95, CacheTTL: time.Minute, LocalCacheTTL: 5 * time.Second, LocalCacheEntries: 10_000,
		Lifecycle: analyticsapp.Lifecycle{LoyalPurchases: 5, LoyalTenure: 180 * 24 * time.Hour, AtRiskFactor: 2, ChurnFactor: 4,
			AtRiskAfter: 120 * 24 * time.Hour, ChurnAfter: 365 * 24 * time.Hour, ManualHold: 30 * 24 * time.Hour, ChurnThreshold: 70},
		// Receivers are test servers on loopback; retries come quickly.
		Webhooks: analyticsapp.Webhooks{Timeout: 5 * time.Second, RetryPeriod: opts.WebhookRetryPeriod, BackoffBase: 50 * time.Millisecond,
			BackoffMax: 500 * time.Millisecond, DisableAfter: 3, AllowPrivateTargets: true, LogRetention: 24 * time.Hour},
	}
	analyticsCfg.Environment = "development" // plain http to the test receivers
	analytics, err := analyticsapp.New(ctx, analyticsCfg, logger)
	if err != nil {
		t.Fatalf("suite: analytics: %v", err)
	}
	serve(analytics.Serve)

	gatewayCfg := gatewayapp.Config{
		HTTPAddr: "127.0.0.1:0", AdminAddr: "127.0.0.1:0",
		CustomerAddr: peer(customer.GRPCAddr()), InteractionAddr: peer(interaction.GRPCAddr()), ServiceDeskAddr: peer(desk.GRPCAddr()),
		AnalyticsAddr: peer(analytics.GRPCAddr()), BackendTimeout: 10 * time.Second,
		MaxBodyBytes: opts.MaxBodyBytes, CORSOrigins: opts.CORSOrigins,
		ReadHeaderTimeout: opts.ReadHeaderTimeout, ReadTimeout: time.Minute, IdleTimeout: 2 * time.Minute,
		ShutdownTimeout: 5 * time.Second,
		// The console's development sign-in, as under kehuctl dev.
		Environment: "development", JWTSecret: testkit.Secret, JWTIssuer: "kehu", JWTAudience: "kehu", DevTokenTTL: time.Hour,
		OIDCIssuer: opts.OIDCIssuer, OIDCClientID: "kehu-console",
	}
	gateway, err := gatewayapp.New(ctx, gatewayCfg, logger)
	if err != nil {
		t.Fatalf("suite: gateway: %v", err)
	}
	serve(gateway.Serve)
	withoutRedisURL := ""
	if opts.WithoutRedis {
		cfg := analyticsCfg
		cfg.RedisURL = "redis://127.0.0.1:1/0"
		cfg.Follow = false // reads only
		replica, err := analyticsapp.New(ctx, cfg, logger)
		if err != nil {
			t.Fatalf("suite: analytics without Redis: %v", err)
		}
		serve(replica.Serve)
		gwCfg := gatewayCfg
		gwCfg.AnalyticsAddr = peer(replica.GRPCAddr())
		gw, err := gatewayapp.New(ctx, gwCfg, logger)
		if err != nil {
			t.Fatalf("suite: gateway without Redis: %v", err)
		}
		serve(gw.Serve)
		withoutRedisURL = "http://" + gw.HTTPAddr()
	}

	conn := testkit.Dial(t, customer.GRPCAddr())
	iconn := testkit.Dial(t, interaction.GRPCAddr())
	s := &Suite{
		BaseURL:         "http://" + gateway.HTTPAddr(),
		GatewayAdminURL: "http://" + gateway.AdminAddr(),
		CustomerAddr:    customer.GRPCAddr(),
		InteractionAddr: interaction.GRPCAddr(),
		ServiceDeskAddr: desk.GRPCAddr(),
		AnalyticsAddr:   analytics.GRPCAddr(),
		CustomerConn:    conn,
		InteractionConn: iconn,
		ServiceDeskConn: testkit.Dial(t, desk.GRPCAddr()),
		Interaction:     interaction,
		Analytics:       analytics,
		WithoutRedisURL: withoutRedisURL,
		stop:            stop,
	}
	s.waitReady(t)
	return s
}

// Stop stops every service and the gateway (as the test's end would) and
// waits for them to finish.
func (s *Suite) Stop() { s.stop() }

// Token returns a bearer token for subject with roles.
func (s *Suite) Token(t testing.TB, subject string, roles ...auth.Role) string {
	t.Helper()
	return testkit.Token(t, subject, roles...)
}

// waitReady waits until the gateway reports every backend healthy.
func (s *Suite) waitReady(t testing.TB) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for {
		resp, err := http.Get(s.GatewayAdminURL + "/readyz")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("suite: gateway not ready: %v", err)
		}
		time.Sleep(50 * time.Millisecond)
	}
}
