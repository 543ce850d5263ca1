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
	"github.com/prometheus/client_golang/prometheus/promhttp"
	"google.golang.org/grpc"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"

	"github.com/kehu-crm/kehu/pkg/config"
	"github.com/kehu-crm/kehu/pkg/dial"
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
	cfg      Config
	logger   *slog.Logger
	api      *http.Server
	admin    *http.Server
	apiLn    net.Listener
	adminLn  net.Listener
	conns    []*grpc.ClientConn
	health   []healthpb.HealthClient
	draining chan struct{}
}

// New dials the backends and opens the listeners.
func New(ctx context.Context, cfg Config, logger *slog.Logger) (_ *App, err error) {
	a := &App{cfg: cfg, logger: logger, draining: make(chan struct{})}
	defer func() {
		if err != nil {
			a.closeConns()
		}
	}()
	customer, err := dial.Dial(cfg.CustomerAddr,
		dial.WithDefaultTimeout(cfg.BackendTimeout),
		dial.WithUnaryInterceptors(gateway.IfMatchInterceptor))
	if err != nil {
		return nil, fmt.Errorf("dialing customer service %s: %w", cfg.CustomerAddr, err)
	}
	a.conns = append(a.conns, customer)
	a.health = append(a.health, healthpb.NewHealthClient(customer))
	interaction, err := dial.Dial(cfg.InteractionAddr,
		dial.WithDefaultTimeout(cfg.BackendTimeout),
		dial.WithUnaryInterceptors(gateway.IfMatchInterceptor))
	if err != nil {
		return nil, fmt.Errorf("dialing interaction service %s: %w", cfg.InteractionAddr, err)
	}
	a.conns = append(a.conns, interaction)
	a.health = append(a.health, healthpb.NewHealthClient(interaction))

	var origins []string
	for _, o := range strings.Split(cfg.CORSOrigins, ",") {
		if o = strings.TrimSpace(o); o != "" {
			origins = append(origins, o)
		}
	}
	handler, err := gateway.New(ctx, gateway.Backends{Customer: customer, Interaction: interaction}, gateway.Options{
		MaxBodyBytes: cfg.MaxBodyBytes, CORSOrigins: origins, Logger: logger,
	})
	if err != nil {
		return nil, err
	}
	registry := prometheus.NewRegistry()
	registry.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	handler = gateway.Instrument(handler, registry, logger)

	if a.apiLn, err = net.Listen("tcp", cfg.HTTPAddr); err != nil {
		return nil, fmt.Errorf("listening on %s: %w", cfg.HTTPAddr, err)
	}
	if a.adminLn, err = net.Listen("tcp", cfg.AdminAddr); err != nil {
		a.apiLn.Close()
		return nil, fmt.Errorf("listening on %s: %w", cfg.AdminAddr, err)
	}
	a.api = &http.Server{Handler: handler, ReadHeaderTimeout: 10 * time.Second, IdleTimeout: 2 * time.Minute}
	adminMux := http.NewServeMux()
	adminMux.Handle("GET /metrics", promhttp.HandlerFor(registry, promhttp.HandlerOpts{}))
	adminMux.HandleFunc("GET /healthz", func(w http.ResponseWriter, _ *http.Request) { fmt.Fprintln(w, "ok") })
	adminMux.HandleFunc("GET /readyz", a.ready)
	a.admin = &http.Server{Handler: adminMux, ReadHeaderTimeout: 5 * time.Second}
	return a, nil
}

// HTTPAddr is the REST address.
func (a *App) HTTPAddr() string { return a.apiLn.Addr().String() }

// AdminAddr is the address of /metrics, /healthz and /readyz.
func (a *App) AdminAddr() string { return a.adminLn.Addr().String() }

// ready reports 200 when every backend answers its health check, so a load
// balancer sends no traffic to a gateway that cannot serve it.
func (a *App) ready(w http.ResponseWriter, r *http.Request) {
	select {
	case <-a.draining:
		http.Error(w, "shutting down", http.StatusServiceUnavailable)
		return
	default:
	}
	ctx, cancel := context.WithTimeout(r.Context(), 2*time.Second)
	defer cancel()
	for _, h := range a.health {
		resp, err := h.Check(ctx, &healthpb.HealthCheckRequest{})
		if err != nil || resp.GetStatus() != healthpb.HealthCheckResponse_SERVING {
			http.Error(w, "backend not serving", http.StatusServiceUnavailable)
			return
		}
	}
	fmt.Fprintln(w, "ok")
}

// Serve runs until ctx is done, then fails readiness, waits DrainDelay,
// and shuts the servers down gracefully before closing backend connections.
func (a *App) Serve(ctx context.Context) error {
	errc := make(chan error, 2)
	go func() { errc <- a.api.Serve(a.apiLn) }()
	go func() { errc <- a.admin.Serve(a.adminLn) }()
	var serveErr error
	select {
	case <-ctx.Done():
	case serveErr = <-errc:
	}
	close(a.draining)
	if serveErr == nil {
		select {
		case <-time.After(a.cfg.DrainDelay):
		case serveErr = <-errc:
		}
	}
	shutdownCtx, cancel := context.WithTimeout(context.WithoutCancel(ctx), a.cfg.ShutdownTimeout)
	defer cancel()
	err := errors.Join(a.api.Shutdown(shutdownCtx), a.admin.Shutdown(shutdownCtx))
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
