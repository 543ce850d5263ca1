// Package app wires the customer service: configuration, PostgreSQL, Redis,
// the domain, the gRPC handlers and the server runner. It is importable so
// that kehuctl and the end-to-end tests start the exact service that ships.
package app

import (
	"context"
	"fmt"
	"log/slog"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	customerv1 "github.com/kehu-crm/kehu/pkg/api/kehu/customer/v1"
	"github.com/kehu-crm/kehu/pkg/auth"
	"github.com/kehu-crm/kehu/pkg/cache"
	"github.com/kehu-crm/kehu/pkg/config"
	"github.com/kehu-crm/kehu/pkg/outbox"
	"github.com/kehu-crm/kehu/pkg/pagetoken"
	"github.com/kehu-crm/kehu/pkg/pg"
	"github.com/kehu-crm/kehu/pkg/server"
	"github.com/kehu-crm/kehu/services/customer/internal/customer"
	grpcserver "github.com/kehu-crm/kehu/services/customer/internal/server"
	"github.com/kehu-crm/kehu/services/customer/internal/store"
	"github.com/kehu-crm/kehu/services/customer/migrations"
)

// Default listen addresses of the customer service.
const (
	DefaultGRPCAddr  = ":9101"
	DefaultAdminAddr = ":9201"
)

// Config is the customer service's configuration.
type Config struct {
	config.Service
	// DefaultPhoneRegion reads phone numbers written without "+country".
	DefaultPhoneRegion string `env:"KEHU_DEFAULT_PHONE_REGION, default=CN"`
	// MembershipTiers are the points thresholds of membership tiers.
	MembershipTiers string `env:"KEHU_MEMBERSHIP_TIERS, default=SILVER=1000,GOLD=5000,PLATINUM=20000"`
	// CacheTTL bounds how stale a cached customer can be.
	CacheTTL time.Duration `env:"KEHU_CACHE_TTL, default=60s"`
	// PageTokenKey signs page tokens; set it in production.
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

// App is a running customer service.
type App struct {
	server   *server.Server
	streamer *outbox.Streamer
	closers  []func()
	logger   *slog.Logger
}

// New connects to PostgreSQL and Redis and prepares the server; listeners
// are open when it returns, so GRPCAddr is known before Serve.
func New(ctx context.Context, cfg Config, logger *slog.Logger) (_ *App, err error) {
	a := &App{logger: logger}
	defer func() {
		if err != nil {
			a.close()
		}
	}()
	tiers, err := customer.ParseTiers(cfg.MembershipTiers)
	if err != nil {
		return nil, err
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

	pool, err := pg.Connect(ctx, cfg.DatabaseURL, migrations.Schema)
	if err != nil {
		return nil, fmt.Errorf("connecting to PostgreSQL: %w", err)
	}
	a.closers = append(a.closers, pool.Close)

	registry := prometheus.NewRegistry()
	redis, err := cache.New(cache.Config{URL: cfg.RedisURL, Prefix: "kehu:"}, registry)
	if err != nil {
		return nil, fmt.Errorf("configuring Redis: %w", err)
	}
	a.closers = append(a.closers, func() { _ = redis.Close() })

	svc := customer.New(
		store.New(pool, grpcserver.EncodeEvent),
		store.NewCache(redis, cfg.CacheTTL),
		customer.Config{DefaultRegion: cfg.DefaultPhoneRegion, Tiers: tiers},
	)
	a.streamer = outbox.NewStreamer(pool, migrations.Schema)

	a.server, err = server.New(ctx, server.Config{
		ServiceName:      customerv1.CustomerService_ServiceDesc.ServiceName,
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
	customerv1.RegisterCustomerServiceServer(a.server.GRPC(), grpcserver.New(svc, a.streamer))
	a.server.AddReadinessCheck("postgres", pool.Ping)
	return a, nil
}

// GRPCAddr is the address the gRPC server listens on.
func (a *App) GRPCAddr() string { return a.server.GRPCAddr() }

// AdminAddr is the address of /metrics, /healthz and /readyz.
func (a *App) AdminAddr() string { return a.server.AdminAddr() }

// Serve runs until ctx is done, then shuts down gracefully and closes the
// pools, in that order, so in-flight requests can still use them.
func (a *App) Serve(ctx context.Context) error {
	defer a.close()
	streamCtx, stopStreamer := context.WithCancel(context.WithoutCancel(ctx))
	defer stopStreamer()
	go a.streamer.Run(streamCtx)
	return a.server.Serve(ctx)
}

func (a *App) close() {
	for i := len(a.closers) - 1; i >= 0; i-- {
		a.closers[i]()
	}
	a.closers = nil
}

// Migrate applies the customer schema's migrations.
func Migrate(ctx context.Context, databaseURL string) error {
	pool, err := pg.Connect(ctx, databaseURL, migrations.Schema)
	if err != nil {
		return fmt.Errorf("connecting to PostgreSQL: %w", err)
	}
	defer pool.Close()
	return pg.Migrate(ctx, pool, migrations.Schema, migrations.FS)
}
