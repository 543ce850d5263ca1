// Package app wires the interaction service: configuration, PostgreSQL,
// the customer service client and event follower, the background worker,
// the domain, the gRPC handlers and the server runner. kehuctl and the
// end-to-end tests start it through this package.
package app

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/prometheus/client_golang/prometheus"

	interactionv1 "github.com/kehu-crm/kehu/pkg/api/kehu/interaction/v1"
	"github.com/kehu-crm/kehu/pkg/auth"
	"github.com/kehu-crm/kehu/pkg/config"
	"github.com/kehu-crm/kehu/pkg/dial"
	"github.com/kehu-crm/kehu/pkg/leader"
	"github.com/kehu-crm/kehu/pkg/outbox"
	"github.com/kehu-crm/kehu/pkg/pagetoken"
	"github.com/kehu-crm/kehu/pkg/pg"
	"github.com/kehu-crm/kehu/pkg/server"
	"github.com/kehu-crm/kehu/services/interaction/internal/customers"
	"github.com/kehu-crm/kehu/services/interaction/internal/interaction"
	grpcserver "github.com/kehu-crm/kehu/services/interaction/internal/server"
	"github.com/kehu-crm/kehu/services/interaction/internal/store"
	"github.com/kehu-crm/kehu/services/interaction/migrations"
)

// Default listen addresses of the interaction service.
const (
	DefaultGRPCAddr  = ":9102"
	DefaultAdminAddr = ":9202"
)

// Config is the interaction service's configuration.
type Config struct {
	config.Service
	// CustomerAddr is the customer service (host:port, a comma-separated
	// list, or dns:///name:port).
	CustomerAddr string `env:"KEHU_CUSTOMER_ADDR, default=127.0.0.1:9101"`
	// CustomerTimeout bounds each call to the customer service.
	CustomerTimeout time.Duration `env:"KEHU_CUSTOMER_TIMEOUT, default=5s"`
	// ServiceTokenFile holds the bearer token this service presents to
	// others when KEHU_JWT_SECRET is not set (RS256 deployments).
	ServiceTokenFile string `env:"KEHU_SERVICE_TOKEN_FILE"`
	// FollowUpGrace is how long after its due time a follow-up is missed.
	FollowUpGrace time.Duration `env:"KEHU_FOLLOW_UP_GRACE, default=24h"`
	// WorkerInterval is the period of the background worker; 0 disables it.
	WorkerInterval time.Duration `env:"KEHU_WORKER_INTERVAL, default=1m"`
	// CareTimeZone is the calendar of birthdays and holidays.
	CareTimeZone string `env:"KEHU_CARE_TIMEZONE, default=Asia/Shanghai"`
	// FollowCustomers turns the customer event follower on.
	FollowCustomers bool `env:"KEHU_FOLLOW_CUSTOMER_EVENTS, default=true"`
	// PageTokenKey signs page tokens; set the same key on every replica.
	PageTokenKey string `env:"KEHU_PAGE_TOKEN_KEY"`
}

// LoadConfig reads the configuration from the environment.
func LoadConfig(ctx context.Context) (Config, error) {
	var cfg Config
	if err := config.Load(ctx, &cfg); err != nil {
		return Config{}, err
	}
	if cfg.GRPCAddr == "" {
		cfg.GRPCAddr = DefaultGRPCAddr
	}
	if cfg.AdminAddr == "" {
		cfg.AdminAddr = DefaultAdminAddr
	}
	return cfg, nil
}

// App is a running interaction service.
type App struct {
	cfg      Config
	logger   *slog.Logger
	pool     *pgxpool.Pool
	svc      *interaction.Service
	server   *server.Server
	streamer *outbox.Streamer
	follower *customers.Follower
	worker   workerMetrics
	location *time.Location
	closers  []func()
}

type workerMetrics struct {
	runs    *prometheus.CounterVec
	missed  prometheus.Counter
	care    prometheus.Counter
	elapsed prometheus.Histogram
}

// New connects to PostgreSQL and the customer service and prepares the
// server; listeners are open when it returns.
func New(ctx context.Context, cfg Config, logger *slog.Logger) (_ *App, err error) {
	a := &App{cfg: cfg, logger: logger}
	defer func() {
		if err != nil {
			a.close()
		}
	}()
	if a.location, err = time.LoadLocation(cfg.CareTimeZone); err != nil {
		return nil, fmt.Errorf("KEHU_CARE_TIMEZONE: %w", err)
	}
	if cfg.PageTokenKey != "" {
		pagetoken.SetKey([]byte(cfg.PageTokenKey))
	}
	verifier, err := auth.NewVerifier(auth.Config{
		Issuer: cfg.JWTIssuer, Audience: cfg.JWTAudience,
		HS256Secret: cfg.JWTSecret, RS256KeyFile: cfg.JWTPublicKeyFile,
	})
	if err != nil {
		return nil, fmt.Errorf("configuring authentication: %w", err)
	}
	tokens, err := serviceTokens(cfg)
	if err != nil {
		return nil, err
	}

	if a.pool, err = pg.Connect(ctx, cfg.DatabaseURL, migrations.Schema); err != nil {
		return nil, fmt.Errorf("connecting to PostgreSQL: %w", err)
	}
	a.closers = append(a.closers, a.pool.Close)

	customerConn, err := dial.Dial(cfg.CustomerAddr,
		dial.WithDefaultTimeout(cfg.CustomerTimeout),
		dial.WithTokenSource(auth.ForwardOr(tokens)))
	if err != nil {
		return nil, fmt.Errorf("dialing customer service %s: %w", cfg.CustomerAddr, err)
	}
	a.closers = append(a.closers, func() { _ = customerConn.Close() })

	registry := prometheus.NewRegistry()
	a.svc = interaction.New(store.New(a.pool, grpcserver.EncodeEvent), customers.NewClient(customerConn), nil)
	a.streamer = outbox.NewStreamer(a.pool, migrations.Schema)
	if cfg.FollowCustomers {
		a.follower = customers.NewFollower(customerConn, a.svc, logger, registry)
	}
	a.worker = newWorkerMetrics(registry)

	a.server, err = server.New(ctx, server.Config{
		ServiceName:      interactionv1.InteractionService_ServiceDesc.ServiceName,
		GRPCAddr:         cfg.GRPCAddr,
		AdminAddr:        cfg.AdminAddr,
		ShutdownTimeout:  cfg.ShutdownTimeout,
		DrainDelay:       cfg.DrainDelay,
		MaxConnectionAge: cfg.MaxConnectionAge,
	}, logger,
		server.WithRegistry(registry),
		server.WithUnaryInterceptors(auth.UnaryServerInterceptor(verifier, grpcserver.Policy)),
		server.WithStreamInterceptors(auth.StreamServerInterceptor(verifier, grpcserver.Policy)),
	)
	if err != nil {
		return nil, err
	}
	interactionv1.RegisterInteractionServiceServer(a.server.GRPC(), grpcserver.New(a.svc, a.streamer))
	a.server.AddReadinessCheck("postgres", a.pool.Ping)
	return a, nil
}

// serviceTokens is how this service authenticates to others.
func serviceTokens(cfg Config) (auth.TokenSource, error) {
	switch {
	case cfg.JWTSecret != "":
		signer, err := auth.NewHS256Signer(cfg.JWTSecret, cfg.JWTIssuer, cfg.JWTAudience)
		if err != nil {
			return nil, err
		}
		return auth.NewServiceTokens(signer, "interaction"), nil
	case cfg.ServiceTokenFile != "":
		return auth.NewFileToken(cfg.ServiceTokenFile), nil
	}
	return nil, errors.New("no service credentials: set KEHU_JWT_SECRET or KEHU_SERVICE_TOKEN_FILE")
}

func newWorkerMetrics(reg prometheus.Registerer) workerMetrics {
	m := workerMetrics{
		runs: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "kehu_interaction_worker_runs_total", Help: "Background worker passes by result.",
		}, []string{"result"}),
		missed: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "kehu_interaction_follow_ups_missed_total", Help: "Follow-ups marked missed by the worker.",
		}),
		care: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "kehu_interaction_care_follow_ups_total", Help: "Care follow-ups generated from care rules.",
		}),
		elapsed: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name: "kehu_interaction_worker_seconds", Help: "Duration of background worker passes.",
		}),
	}
	reg.MustRegister(m.runs, m.missed, m.care, m.elapsed)
	return m
}

// GRPCAddr is the address the gRPC server listens on.
func (a *App) GRPCAddr() string { return a.server.GRPCAddr() }

// AdminAddr is the address of /metrics, /healthz and /readyz.
func (a *App) AdminAddr() string { return a.server.AdminAddr() }

// WorkerConfig is the configuration of the background worker.
func (a *App) WorkerConfig() interaction.WorkerConfig {
	return interaction.WorkerConfig{Grace: a.cfg.FollowUpGrace, Location: a.location}
}

// RunWorkerOnce does one worker pass now; tests and operators use it.
func (a *App) RunWorkerOnce(ctx context.Context, now time.Time) (interaction.Report, error) {
	start := time.Now()
	rep, err := a.svc.RunWorker(ctx, a.WorkerConfig(), now)
	a.worker.elapsed.Observe(time.Since(start).Seconds())
	a.worker.missed.Add(float64(rep.Missed))
	a.worker.care.Add(float64(rep.CareFollowUp))
	if err != nil {
		a.worker.runs.WithLabelValues("error").Inc()
		return rep, err
	}
	a.worker.runs.WithLabelValues("ok").Inc()
	return rep, nil
}

// Serve runs until ctx is done. Background work (event follower, worker)
// runs on the one replica holding its advisory lock.
func (a *App) Serve(ctx context.Context) error {
	defer a.close()
	bg, stopBackground := context.WithCancel(context.WithoutCancel(ctx))
	done := make(chan struct{}, 3)
	go func() { a.streamer.Run(bg); done <- struct{}{} }()
	go func() {
		if a.follower != nil {
			leader.Run(bg, a.pool, "kehu-interaction-customer-follower", a.logger, a.follower.Run, leader.Options{})
		}
		done <- struct{}{}
	}()
	go func() {
		if a.cfg.WorkerInterval > 0 {
			leader.Run(bg, a.pool, "kehu-interaction-worker", a.logger, a.runWorker, leader.Options{})
		}
		done <- struct{}{}
	}()
	err := a.server.Serve(ctx)
	stopBackground()
	for range 3 {
		<-done
	}
	return err
}

func (a *App) runWorker(ctx context.Context) {
	ticker := time.NewTicker(a.cfg.WorkerInterval)
	defer ticker.Stop()
	for {
		if rep, err := a.RunWorkerOnce(ctx, time.Now()); err != nil {
			if ctx.Err() == nil {
				a.logger.Error("worker pass failed", "error", err)
			}
		} else if rep.Missed+rep.CareFollowUp > 0 {
			a.logger.Info("worker pass", "missed", rep.Missed, "rescheduled", rep.Rescheduled, "care_follow_ups", rep.CareFollowUp)
		}
		select {
		case <-ctx.Done():
			return
		case <-ticker.C:
		}
	}
}

func (a *App) close() {
	for i := len(a.closers) - 1; i >= 0; i-- {
		a.closers[i]()
	}
	a.closers = nil
}

// Migrate applies the interaction schema's migrations.
func Migrate(ctx context.Context, databaseURL string) error {
	pool, err := pg.Connect(ctx, databaseURL, migrations.Schema)
	if err != nil {
		return fmt.Errorf("connecting to PostgreSQL: %w", err)
	}
	defer pool.Close()
	return pg.Migrate(ctx, pool, migrations.Schema, migrations.FS)
}
