// Package service is the bootstrap every Kehu gRPC service shares, so that
// a service's app package is wiring only: it names its schema, permission
// table and handlers, and this package opens the PostgreSQL pool in that
// schema, verifies bearer tokens, serves gRPC with health, reflection and
// metrics (over TLS when configured, package tlsfiles), records the audit
// trail (package audit), streams the outbox, runs background work (on one replica where it must) and shuts everything
// down in reverse order.
package service

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/prometheus/client_golang/prometheus"
	"google.golang.org/grpc"

	auditv1 "github.com/kehu-crm/kehu/pkg/api/kehu/audit/v1"
	"github.com/kehu-crm/kehu/pkg/audit"
	"github.com/kehu-crm/kehu/pkg/auth"
	"github.com/kehu-crm/kehu/pkg/cache"
	"github.com/kehu-crm/kehu/pkg/config"
	"github.com/kehu-crm/kehu/pkg/dial"
	"github.com/kehu-crm/kehu/pkg/leader"
	"github.com/kehu-crm/kehu/pkg/outbox"
	"github.com/kehu-crm/kehu/pkg/pagetoken"
	"github.com/kehu-crm/kehu/pkg/pg"
	"github.com/kehu-crm/kehu/pkg/ratelimit"
	"github.com/kehu-crm/kehu/pkg/server"
	"github.com/kehu-crm/kehu/pkg/tlsfiles"
)

// CachePrefix begins every Redis key the services write, so that they can
// share a Redis with other programs and a restore can empty their cache.
const CachePrefix = "kehu:"

// cacheKeys are the keys that seal Redis values: KEHU_CACHE_KEYS, else
// one derived from the page-token key every replica shares, else one of
// this process's own (replicas then cannot read each other's entries,
// which costs hits, not correctness).
func cacheKeys(cfg config.Service, logger *slog.Logger) ([][]byte, error) {
	keys, err := cache.ParseKeys(cfg.CacheKeys)
	switch {
	case err != nil:
		return nil, err
	case len(keys) > 0:
		return keys, nil
	case cfg.PageTokenKey != "":
		return [][]byte{cache.DeriveKey(cfg.PageTokenKey)}, nil
	}
	logger.Info("Redis values are sealed with a key of this process alone; set KEHU_CACHE_KEYS (or KEHU_PAGE_TOKEN_KEY) on every replica to share the cache")
	return [][]byte{cache.RandomKey()}, nil
}

// Spec is what distinguishes one service from another at start-up.
type Spec struct {
	// Name is the fully qualified gRPC service name, e.g.
	// "kehu.customer.v1.CustomerService"; health reports it.
	Name string
	// Migrations name the schema the pool lives in; Migrate applies them.
	Migrations pg.Migrations
	// Policy is the permission table (closed by default).
	Policy auth.Policy
	// PersonalReads are the reads that answer admins and managers with
	// personal data; the audit trail records those calls beside every
	// mutation.
	PersonalReads audit.Methods
}

// Service is a gRPC service being started or running.
type Service struct {
	cfg    config.Service
	spec   Spec
	Logger *slog.Logger
	// Pool is the PostgreSQL pool, in the service's schema.
	Pool *pgxpool.Pool
	// Registry holds the service's own metrics; /metrics serves them.
	Registry *prometheus.Registry
	// Streamer serves the service's outbox to StreamEvents.
	Streamer *outbox.Streamer

	server  *server.Server
	tls     *tlsfiles.Files
	cache   *cache.Cache
	janitor *janitor
	tasks   []func(context.Context)
	closers []func()
}

// New connects to PostgreSQL, prepares authentication and opens the
// listeners (so GRPCAddr is known before Serve). Register handlers on
// GRPC(), then call Serve. On error everything opened so far is closed.
func New(ctx context.Context, cfg config.Service, spec Spec, logger *slog.Logger) (_ *Service, err error) {
	s := &Service{cfg: cfg, spec: spec, Logger: logger, Registry: prometheus.NewRegistry()}
	defer func() {
		if err != nil {
			s.Close()
		}
	}()
	if cfg.AuditRetention != 0 && cfg.AuditRetention < audit.MinRetention {
		return nil, fmt.Errorf("configuration: KEHU_AUDIT_RETENTION (%s) must be 0 (forever) or at least %s", cfg.AuditRetention, audit.MinRetention)
	}
	if cfg.PageTokenKey != "" {
		pagetoken.SetKey([]byte(cfg.PageTokenKey))
	}
	// A JWKS key set is refreshed for the life of the service, not of the
	// set-up context.
	keysCtx, stopKeys := context.WithCancel(context.WithoutCancel(ctx))
	s.OnClose(stopKeys)
	verifier, err := auth.NewVerifier(keysCtx, auth.Config{
		Issuer: cfg.JWTIssuer, Audience: cfg.JWTAudience,
		HS256Secret: cfg.JWTSecret, RS256KeyFile: cfg.JWTPublicKeyFile, JWKSURL: cfg.JWTJWKSURL,
		Development: cfg.Development(), MaxLifetime: cfg.JWTMaxLifetime, RolesClaim: cfg.JWTRolesClaim,
	})
	if err != nil {
		return nil, fmt.Errorf("configuring authentication: %w", err)
	}
	if s.tls, err = tlsfiles.New(cfg.TLS, logger, s.Registry); err != nil {
		return nil, err
	}
	if s.Pool, err = pg.Connect(ctx, cfg.DatabaseURL, spec.Migrations.Schema, pg.WithStatementTimeout(cfg.StatementTimeout)); err != nil {
		return nil, fmt.Errorf("connecting to PostgreSQL: %w", err)
	}
	s.OnClose(s.Pool.Close)
	s.Streamer = outbox.NewStreamer(s.Pool, spec.Migrations.Schema)
	s.Go(s.Streamer.Run)
	s.janitor = newJanitor(s)
	s.GoAsLeader("kehu-"+spec.Migrations.Schema+"-janitor", s.janitor.Run)
	recorder := audit.New(s.Pool, audit.Config{Service: spec.Migrations.Schema, PersonalReads: spec.PersonalReads}, logger, s.Registry)
	s.Go(recorder.Run)

	keys, err := cacheKeys(cfg, logger)
	if err != nil {
		return nil, err
	}
	if s.cache, err = cache.New(cache.Config{URL: cfg.RedisURL, Prefix: CachePrefix, Keys: keys}, s.Registry); err != nil {
		return nil, fmt.Errorf("configuring Redis: %w", err)
	}
	s.OnClose(func() { _ = s.cache.Close() })
	limiter := ratelimit.New(s.cache.Client(), ratelimit.Config{
		Rate: cfg.RateLimit, Burst: cfg.RateLimitBurst, Namespace: spec.Migrations.Schema,
	}, s.Registry)

	s.server, err = server.New(ctx, server.Config{
		ServiceName:      spec.Name,
		GRPCAddr:         cfg.GRPCAddr,
		AdminAddr:        cfg.AdminAddr,
		ShutdownTimeout:  cfg.ShutdownTimeout,
		DrainDelay:       cfg.DrainDelay,
		MaxConnectionAge: cfg.MaxConnectionAge,
		MaxMessageBytes:  cfg.MaxMessageBytes,
	}, logger,
		server.WithRegistry(s.Registry),
		server.WithTransportCredentials(s.tls.Server()),
		// The audit trail runs before authentication so that it records
		// denied calls too (auth tells it who called).
		server.WithUnaryInterceptors(recorder.UnaryServerInterceptor(), auth.UnaryServerInterceptor(verifier, spec.Policy), limiter.UnaryServerInterceptor()),
		server.WithStreamInterceptors(recorder.StreamServerInterceptor(), auth.StreamServerInterceptor(verifier, spec.Policy)),
	)
	if err != nil {
		return nil, err
	}
	s.server.AddReadinessCheck("postgres", s.Pool.Ping)
	return s, nil
}

// ServeAuditTrail serves kehu.audit.v1.AuditService (admins only: it is
// in no permission table) and has this service's janitor prune the trail
// past KEHU_AUDIT_RETENTION. One service of the suite does: the trail is
// one table for all of them.
func (s *Service) ServeAuditTrail() {
	auditv1.RegisterAuditServiceServer(s.GRPC(), audit.NewServer(s.Pool))
	s.Retain("audit.entries", s.cfg.AuditRetention, func(ctx context.Context, cutoff time.Time) (int64, error) {
		return audit.Prune(ctx, s.Pool, cutoff)
	})
}

// GRPC is where handlers are registered (network and in-process).
func (s *Service) GRPC() grpc.ServiceRegistrar { return s.server.GRPC() }

// GRPCAddr is the address the gRPC server listens on.
func (s *Service) GRPCAddr() string { return s.server.GRPCAddr() }

// AdminAddr is the address of /metrics, /healthz and /readyz.
func (s *Service) AdminAddr() string { return s.server.AdminAddr() }

// Redis is the cache (KEHU_REDIS_URL; empty disables it). It fails open
// and counts its errors in the service's registry.
func (s *Service) Redis() *cache.Cache { return s.cache }

// Dial connects to another Kehu service at addr. Calls carry the caller's
// own token when there is one (so the other service applies the caller's
// access rules) and this service's token otherwise; each call gets timeout
// unless it has an earlier deadline, and calls safe to retry wait for the
// other service within it when it is (re)starting. The connection uses
// TLS when KEHU_TLS_CA_FILE is set.
func (s *Service) Dial(addr string, opts ...dial.Option) (dial.Conn, error) {
	tokens, err := s.serviceTokens()
	if err != nil {
		return nil, err
	}
	conn, err := dial.Dial(addr, append([]dial.Option{
		dial.WithTokenSource(auth.ForwardOr(tokens)), dial.WithWaitForReady(), dial.WithTransportCredentials(s.tls.Client()),
	}, opts...)...)
	if err != nil {
		return nil, fmt.Errorf("dialing %s: %w", addr, err)
	}
	s.OnClose(func() { _ = conn.Close() })
	return conn, nil
}

// serviceTokens is how this service authenticates to others: tokens it
// signs itself in development (HS256), a mounted token file in production.
func (s *Service) serviceTokens() (auth.TokenSource, error) {
	switch {
	case s.cfg.JWTSecret != "":
		signer, err := auth.NewHS256Signer(s.cfg.JWTSecret, s.cfg.JWTIssuer, s.cfg.JWTAudience)
		if err != nil {
			return nil, err
		}
		return auth.NewServiceTokens(signer, s.spec.Migrations.Schema), nil
	case s.cfg.ServiceTokenFile != "":
		return auth.NewFileToken(s.cfg.ServiceTokenFile), nil
	}
	return nil, errors.New("no service credentials: set KEHU_JWT_SECRET or KEHU_SERVICE_TOKEN_FILE")
}

// OnClose registers f to run at shutdown, after the server stopped and in
// reverse order of registration.
func (s *Service) OnClose(f func()) { s.closers = append(s.closers, f) }

// Go runs fn in the background while the service serves; its context ends
// after the server has stopped taking calls.
func (s *Service) Go(fn func(context.Context)) { s.tasks = append(s.tasks, fn) }

// GoAsLeader runs fn in the background on exactly one replica at a time
// (the holder of the advisory lock named lock); another takes over when
// that one stops.
func (s *Service) GoAsLeader(lock string, fn func(context.Context)) {
	s.Go(func(ctx context.Context) { leader.Run(ctx, s.Pool, lock, s.Logger, fn, leader.Options{}) })
}

// Serve runs until ctx is done, then shuts down gracefully: the server
// drains and stops, background work ends, and the pools close, in that
// order, so in-flight requests can still use them.
func (s *Service) Serve(ctx context.Context) error {
	defer s.Close()
	bg, stop := context.WithCancel(context.WithoutCancel(ctx))
	var wg sync.WaitGroup
	for _, task := range s.tasks {
		wg.Go(func() { task(bg) })
	}
	err := s.server.Serve(ctx)
	stop()
	wg.Wait()
	return err
}

// Close releases what New opened; Serve calls it on the way out.
func (s *Service) Close() {
	for i := len(s.closers) - 1; i >= 0; i-- {
		s.closers[i]()
	}
	s.closers = nil
}

// Migrate applies m to the database at databaseURL.
func Migrate(ctx context.Context, databaseURL string, m pg.Migrations) error {
	pool, err := pg.Connect(ctx, databaseURL, m.Schema)
	if err != nil {
		return fmt.Errorf("connecting to PostgreSQL: %w", err)
	}
	defer pool.Close()
	return m.Apply(ctx, pool)
}
