package server

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/http/pprof"
	"sync"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"
)

// Admin is a process's operations endpoint: /metrics, /healthz (alive)
// and /readyz (ready for traffic: every readiness check passes and the
// process is not draining). gRPC services and the REST gateway share it.
type Admin struct {
	logger   *slog.Logger
	srv      *http.Server
	ln       net.Listener
	draining atomic.Bool
	mu       sync.Mutex
	checks   map[string]func(context.Context) error
}

// NewAdmin opens the admin listener on addr, so its address is known
// before Serve; registry is served at /metrics.
func NewAdmin(addr string, registry *prometheus.Registry, logger *slog.Logger) (*Admin, error) {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, fmt.Errorf("listening on %s: %w", addr, err)
	}
	a := &Admin{logger: logger, ln: ln, checks: map[string]func(context.Context) error{}}
	mux := http.NewServeMux()
	mux.Handle("GET /metrics", promhttp.HandlerFor(registry, promhttp.HandlerOpts{Registry: registry}))
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, _ *http.Request) { fmt.Fprintln(w, "ok") })
	mux.HandleFunc("GET /readyz", a.ready)
	// Profiles of the running process, for finding what a request costs
	// (make bench's notes link them). The admin port is not the API's:
	// it is never routed from the Ingress.
	mux.HandleFunc("GET /debug/pprof/", pprof.Index)
	mux.HandleFunc("GET /debug/pprof/profile", pprof.Profile)
	mux.HandleFunc("GET /debug/pprof/trace", pprof.Trace)
	a.srv = &http.Server{Handler: mux, ReadHeaderTimeout: 5 * time.Second}
	return a, nil
}

// Addr is the bound admin address.
func (a *Admin) Addr() string { return a.ln.Addr().String() }

// AddReadinessCheck makes /readyz fail while check fails (e.g. the
// database is unreachable). Redis is deliberately never a check: services
// work without their cache.
func (a *Admin) AddReadinessCheck(name string, check func(context.Context) error) {
	a.mu.Lock()
	defer a.mu.Unlock()
	a.checks[name] = check
}

func (a *Admin) ready(w http.ResponseWriter, r *http.Request) {
	if a.draining.Load() {
		http.Error(w, "draining", http.StatusServiceUnavailable)
		return
	}
	ctx, cancel := context.WithTimeout(r.Context(), 2*time.Second)
	defer cancel()
	a.mu.Lock()
	defer a.mu.Unlock()
	for name, check := range a.checks {
		if err := check(ctx); err != nil {
			a.logger.WarnContext(ctx, "readiness check failed", "check", name, "error", err)
			http.Error(w, name+" not ready", http.StatusServiceUnavailable)
			return
		}
	}
	fmt.Fprintln(w, "ready")
}

// Serve serves until Shutdown; it returns nil then.
func (a *Admin) Serve() error {
	if err := a.srv.Serve(a.ln); !errors.Is(err, http.ErrServerClosed) {
		return err
	}
	return nil
}

// Drain fails readiness from now on and waits delay, so load balancers
// take the process out of rotation before it stops accepting work.
func (a *Admin) Drain(delay time.Duration) {
	a.draining.Store(true)
	if delay > 0 {
		a.logger.Info("draining before shutdown", "delay", delay.String())
		time.Sleep(delay)
	}
}

// Shutdown stops the admin server, waiting briefly for scrapes in flight.
func (a *Admin) Shutdown() error {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	return a.srv.Shutdown(ctx)
}
