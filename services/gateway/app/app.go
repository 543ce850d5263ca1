// Package app wires the REST gateway: configuration, backend connections,
// the grpc-gateway handler and the HTTP servers. It is importable so that
// kehuctl and the end-to-end tests start the exact gateway that ships.
package app

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"strings"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"google.golang.org/grpc"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"

	"github.com/kehu-crm/kehu/pkg/config"
	"github.com/kehu-crm/kehu/pkg/dial"
	"github.com/kehu-crm/kehu/pkg/server"
	"github.com/kehu-crm/kehu/pkg/tlsfiles"
	"github.com/kehu-crm/kehu/services/gateway/internal/gateway"
)

// Config is the gateway's configuration.
type Config struct {
	// HTTPAddr serves the REST API, /openapi.json and /docs.
	HTTPAddr string `env:"KEHU_HTTP_ADDR, default=:8080"`
	// AdminAddr serves /metrics, /healthz and /readyz (not for the Ingress).
	AdminAddr string `env:"KEHU_ADMIN_ADDR, default=:9280"`
	// CustomerAddr is the customer service: "host:port", a comma-separated
	// list of addresses, or "dns:///name:port" (all balanced round-robin).
	CustomerAddr string `env:"KEHU_CUSTOMER_ADDR, default=127.0.0.1:9101"`
	// InteractionAddr is the interaction service, in the same forms.
	InteractionAddr string `env:"KEHU_INTERACTION_ADDR, default=127.0.0.1:9102"`
	// ServiceDeskAddr is the service desk, in the same forms.
	ServiceDeskAddr string `env:"KEHU_SERVICEDESK_ADDR, default=127.0.0.1:9103"`
	// AnalyticsAddr is the analytics service, in the same forms.
	AnalyticsAddr string `env:"KEHU_ANALYTICS_ADDR, default=127.0.0.1:9104"`
	// BackendTimeout is the deadline of each backend call without one.
	BackendTimeout time.Duration `env:"KEHU_BACKEND_TIMEOUT, default=10s"`
	// MaxBodyBytes caps request bodies.
	MaxBodyBytes int64 `env:"KEHU_MAX_BODY_BYTES, default=4194304"`
	// CORSOrigins lists allowed browser origins, comma-separated.
	CORSOrigins string `env:"KEHU_CORS_ORIGINS"`
	// ShutdownTimeout bounds the graceful stop.
	ShutdownTimeout time.Duration `env:"KEHU_SHUTDOWN_TIMEOUT, default=20s"`
	// DrainDelay is the pause between failing /readyz and stopping.
	DrainDelay time.Duration `env:"KEHU_DRAIN_DELAY, default=0s"`
	LogLevel   string        `env:"KEHU_LOG_LEVEL, default=info"`
	// ReadHeaderTimeout, ReadTimeout and IdleTimeout bound what a slow or
	// idle client can hold: a connection, a goroutine, a request body.
	ReadHeaderTimeout time.Duration `env:"KEHU_HTTP_READ_HEADER_TIMEOUT, default=10s"`
	ReadTimeout       time.Duration `env:"KEHU_HTTP_READ_TIMEOUT, default=60s"`
	IdleTimeout       time.Duration `env:"KEHU_HTTP_IDLE_TIMEOUT, default=2m"`
	// ExposeInternalRPCs serves event streams and bulk import over REST too.
	ExposeInternalRPCs bool `env:"KEHU_GATEWAY_EXPOSE_INTERNAL_RPCS, default=false"`
	// Environment is "development" or "production". In development, with
	// JWTSecret set, the console offers a sign-in page that issues tokens
	// for any user and role; in production it signs in with OIDC only.
	Environment string `env:"KEHU_ENVIRONMENT, default=production"`
	// JWTSecret, JWTIssuer and JWTAudience sign development tokens; they
	// must match what the services verify.
	JWTSecret   string `env:"KEHU_JWT_SECRET"`
	JWTIssuer   string `env:"KEHU_JWT_ISSUER, default=kehu"`
	JWTAudience string `env:"KEHU_JWT_AUDIENCE, default=kehu"`
	// DevTokenTTL is how long a development sign-in lasts.
	DevTokenTTL time.Duration `env:"KEHU_DEV_TOKEN_TTL, default=8h"`
	// OIDCIssuer and OIDCClientID are the identity provider the console
	// signs in with (authorization code + PKCE, a public client).
	OIDCIssuer   string `env:"KEHU_OIDC_ISSUER"`
	OIDCClientID string `env:"KEHU_OIDC_CLIENT_ID"`
	// OIDCRolesClaim is where the provider's tokens carry roles (the
	// services read the same variable), so the console shows what the
	// services will allow.
	OIDCRolesClaim string `env:"KEHU_OIDC_ROLES_CLAIM"`
	// TLS secures the calls to the services (KEHU_TLS_CA_FILE; the
	// certificate and key are the gateway's client certificate for mutual
	// TLS). It does not touch the REST side, whose TLS ends at the Ingress.
	TLS config.TLS
}

// LoadConfig reads the configuration from the environment.
func LoadConfig(ctx context.Context) (Config, error) {
	var cfg Config
	// Two statements: in `return cfg, config.Load(ctx, &cfg)` Go leaves
	// unspecified whether cfg is read before or after Load fills it.
	err := config.Load(ctx, &cfg, config.Addrs{})
	return cfg, err
}

// App is a running gateway.
type App struct {
	cfg   Config
	api   *http.Server
	apiLn net.Listener
	admin *server.Admin
	conns []dial.Conn
}

// New dials the backends and opens the listeners.
func New(ctx context.Context, cfg Config, logger *slog.Logger) (_ *App, err error) {
	a := &App{cfg: cfg}
	defer func() {
		if err != nil {
			a.closeConns()
		}
	}()
	unary := []grpc.UnaryClientInterceptor{gateway.IfMatchInterceptor}
	var stream []grpc.StreamClientInterceptor
	if !cfg.ExposeInternalRPCs {
		unary = append(unary, gateway.HideInternalUnary)
		stream = append(stream, gateway.HideInternalStream)
	}
	registry := prometheus.NewRegistry()
	registry.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	tlsFiles, err := tlsfiles.New(cfg.TLS, logger, registry)
	if err != nil {
		return nil, err
	}
	backend := func(name, addr string) (dial.Conn, error) {
		conn, err := dial.Dial(addr, dial.WithDefaultTimeout(cfg.BackendTimeout), dial.WithTransportCredentials(tlsFiles.Client()),
			dial.WithUnaryInterceptors(unary...), dial.WithStreamInterceptors(stream...))
		if err != nil {
			return nil, fmt.Errorf("dialing %s service %s: %w", name, addr, err)
		}
		a.conns = append(a.conns, conn)
		return conn, nil
	}
	customer, err := backend("customer", cfg.CustomerAddr)
	if err != nil {
		return nil, err
	}
	interaction, err := backend("interaction", cfg.InteractionAddr)
	if err != nil {
		return nil, err
	}

	var origins []string
	for _, o := range strings.Split(cfg.CORSOrigins, ",") {
		if o = strings.TrimSpace(o); o != "" {
			origins = append(origins, o)
		}
	}
	serviceDesk, err := backend("servicedesk", cfg.ServiceDeskAddr)
	if err != nil {
		return nil, err
	}

	analytics, err := backend("analytics", cfg.AnalyticsAddr)
	if err != nil {
		return nil, err
	}

	consoleHandler, err := newConsole(cfg)
	if err != nil {
		return nil, err
	}
	handler, err := gateway.New(ctx, gateway.Backends{Customer: customer, Interaction: interaction, ServiceDesk: serviceDesk, Analytics: analytics}, gateway.Options{
		MaxBodyBytes: cfg.MaxBodyBytes, CORSOrigins: origins, ExposeInternalRPCs: cfg.ExposeInternalRPCs, Console: consoleHandler, Logger: logger,
	})
	if err != nil {
		return nil, err
	}
	handler = gateway.Instrument(handler, registry, logger)

	if a.apiLn, err = net.Listen("tcp", cfg.HTTPAddr); err != nil {
		return nil, fmt.Errorf("listening on %s: %w", cfg.HTTPAddr, err)
	}
	if a.admin, err = server.NewAdmin(cfg.AdminAddr, registry, logger); err != nil {
		a.apiLn.Close()
		return nil, err
	}
	// Ready when every backend answers its health check, so a load
	// balancer sends no traffic to a gateway that cannot serve it.
	for name, conn := range map[string]dial.Conn{"customer": customer, "interaction": interaction, "servicedesk": serviceDesk, "analytics": analytics} {
		health := healthpb.NewHealthClient(conn)
		a.admin.AddReadinessCheck(name, func(ctx context.Context) error {
			resp, err := health.Check(ctx, &healthpb.HealthCheckRequest{})
			if err == nil && resp.GetStatus() != healthpb.HealthCheckResponse_SERVING {
				err = fmt.Errorf("%s service is %s", name, resp.GetStatus())
			}
			return err
		})
	}
	a.api = &http.Server{Handler: handler, ReadHeaderTimeout: cfg.ReadHeaderTimeout, ReadTimeout: cfg.ReadTimeout, IdleTimeout: cfg.IdleTimeout}
	return a, nil
}

// HTTPAddr is the REST address.
func (a *App) HTTPAddr() string { return a.apiLn.Addr().String() }

// AdminAddr is the address of /metrics, /healthz and /readyz.
func (a *App) AdminAddr() string { return a.admin.Addr() }

// Serve runs until ctx is done, then fails readiness, waits DrainDelay,
// and shuts the servers down gracefully before closing backend connections.
func (a *App) Serve(ctx context.Context) error {
	errc := make(chan error, 2)
	go func() { errc <- a.api.Serve(a.apiLn) }()
	go func() { errc <- a.admin.Serve() }()
	var serveErr error
	select {
	case <-ctx.Done():
	case serveErr = <-errc:
	}
	delay := a.cfg.DrainDelay
	if serveErr != nil {
		delay = 0
	}
	a.admin.Drain(delay)
	shutdownCtx, cancel := context.WithTimeout(context.WithoutCancel(ctx), a.cfg.ShutdownTimeout)
	defer cancel()
	err := errors.Join(a.api.Shutdown(shutdownCtx), a.admin.Shutdown())
	a.closeConns()
	if serveErr != nil && !errors.Is(serveErr, http.ErrServerClosed) {
		return serveErr
	}
	return err
}

func (a *App) closeConns() {
	for _, c := range a.conns {
		_ = c.Close()
	}
	a.conns = nil
}
