// Package app wires the analytics service: configuration, the followers of
// the customer, interaction and service-desk event streams (one replica
// per stream at a time), the scoring pass, the domain on its store, the
// webhooks (fed by every stream, its own included) and the gRPC handlers,
// on the platform's service bootstrap (pkg/service).
package app

import (
	"context"
	"fmt"
	"log/slog"
	"time"

	"google.golang.org/grpc"

	analyticsv1 "github.com/kehu-crm/kehu/pkg/api/kehu/analytics/v1"
	webhookv1 "github.com/kehu-crm/kehu/pkg/api/kehu/webhook/v1"
	"github.com/kehu-crm/kehu/pkg/cache"
	"github.com/kehu-crm/kehu/pkg/config"
	"github.com/kehu-crm/kehu/pkg/follow"
	followuprpc "github.com/kehu-crm/kehu/pkg/followup/rpc"
	"github.com/kehu-crm/kehu/pkg/service"
	"github.com/kehu-crm/kehu/services/analytics/internal/insight"
	"github.com/kehu-crm/kehu/services/analytics/internal/membership"
	grpcserver "github.com/kehu-crm/kehu/services/analytics/internal/server"
	"github.com/kehu-crm/kehu/services/analytics/internal/sources"
	"github.com/kehu-crm/kehu/services/analytics/internal/store"
	"github.com/kehu-crm/kehu/services/analytics/internal/webhook"
	"github.com/kehu-crm/kehu/services/analytics/migrations"
)

// Default listen addresses of the analytics service.
var defaultAddrs = config.Addrs{GRPC: ":9104", Admin: ":9204"}

// Config is the analytics service's configuration.
type Config struct {
	config.Service
	// The followed services (host:port, a comma-separated list, or
	// dns:///name:port); an empty ServiceDeskAddr follows no service desk.
	CustomerAddr    string `env:"KEHU_CUSTOMER_ADDR, default=127.0.0.1:9101"`
	InteractionAddr string `env:"KEHU_INTERACTION_ADDR, default=127.0.0.1:9102"`
	ServiceDeskAddr string `env:"KEHU_SERVICEDESK_ADDR, default=127.0.0.1:9103"`
	// Follow turns the event followers on.
	Follow bool `env:"KEHU_ANALYTICS_FOLLOW, default=true"`
	// Currency is the scoring currency of RFM monetary and ABC.
	Currency string `env:"KEHU_ANALYTICS_CURRENCY, default=CNY"`
	// ShareA and ShareB are the ABC thresholds of cumulative revenue.
	ShareA float64 `env:"KEHU_ANALYTICS_ABC_A, default=0.80"`
	ShareB float64 `env:"KEHU_ANALYTICS_ABC_B, default=0.95"`
	// CacheTTL is how long segment memberships stay in Redis.
	CacheTTL time.Duration `env:"KEHU_ANALYTICS_CACHE_TTL, default=10m"`
	// LocalCacheTTL bounds how long a replica answers a membership from
	// memory should an invalidation be lost (they normally arrive within
	// milliseconds over Redis pub/sub); 0 turns the in-process tier off.
	LocalCacheTTL time.Duration `env:"KEHU_ANALYTICS_LOCAL_CACHE_TTL, default=5s"`
	// LocalCacheEntries bounds the in-process tier per replica.
	LocalCacheEntries int `env:"KEHU_ANALYTICS_LOCAL_CACHE_ENTRIES, default=100000"`
	// ScoringInterval is the period of the scoring pass; 0 disables it.
	ScoringInterval time.Duration `env:"KEHU_ANALYTICS_SCORING_INTERVAL, default=1h"`
	// LifecycleInterval is the period of the lifecycle pass (time-based
	// stage changes, delivery to the customer service); 0 disables it.
	LifecycleInterval time.Duration `env:"KEHU_ANALYTICS_LIFECYCLE_INTERVAL, default=1m"`
	// ReportsInterval is how often due saved reports are looked for; 0
	// disables scheduled runs.
	ReportsInterval time.Duration `env:"KEHU_ANALYTICS_REPORTS_INTERVAL, default=1m"`
	Lifecycle
	Webhooks
}

// Webhooks configures webhook delivery (see webhook.Config).
type Webhooks struct {
	// Timeout bounds one attempt.
	Timeout time.Duration `env:"KEHU_WEBHOOK_TIMEOUT, default=10s"`
	// RetryPeriod is how long a delivery is retried before it fails.
	RetryPeriod time.Duration `env:"KEHU_WEBHOOK_RETRY_PERIOD, default=72h"`
	// BackoffBase and BackoffMax bound the wait between attempts.
	BackoffBase time.Duration `env:"KEHU_WEBHOOK_BACKOFF_BASE, default=10s"`
	BackoffMax  time.Duration `env:"KEHU_WEBHOOK_BACKOFF_MAX, default=1h"`
	// DisableAfter failed deliveries in a row turn a webhook off.
	DisableAfter int `env:"KEHU_WEBHOOK_DISABLE_AFTER, default=10"`
	// AllowPrivateTargets accepts loopback and private target addresses
	// (receivers inside the cluster; tests).
	AllowPrivateTargets bool `env:"KEHU_WEBHOOK_ALLOW_PRIVATE_TARGETS, default=false"`
	// LogRetention is how long finished deliveries stay in the log.
	LogRetention time.Duration `env:"KEHU_WEBHOOK_LOG_RETENTION, default=720h"`
}

// check refuses settings under which delivery cannot work.
func (w Webhooks) check() error {
	if w.Timeout <= 0 || w.RetryPeriod < 0 || w.BackoffBase <= 0 || w.BackoffMax < w.BackoffBase || w.DisableAfter < 0 || w.LogRetention <= 0 {
		return fmt.Errorf("KEHU_WEBHOOK_*: need TIMEOUT > 0, RETRY_PERIOD ≥ 0, 0 < BACKOFF_BASE ≤ BACKOFF_MAX, DISABLE_AFTER ≥ 0 and LOG_RETENTION > 0, got %+v", w)
	}
	return nil
}

// Lifecycle configures the automatic lifecycle (see insight.Lifecycle).
type Lifecycle struct {
	LoyalPurchases int           `env:"KEHU_LIFECYCLE_LOYAL_PURCHASES, default=5"`
	LoyalTenure    time.Duration `env:"KEHU_LIFECYCLE_LOYAL_TENURE, default=4320h"`
	AtRiskFactor   float64       `env:"KEHU_LIFECYCLE_AT_RISK_FACTOR, default=2"`
	ChurnFactor    float64       `env:"KEHU_LIFECYCLE_CHURN_FACTOR, default=4"`
	AtRiskAfter    time.Duration `env:"KEHU_LIFECYCLE_AT_RISK_AFTER, default=2880h"`
	ChurnAfter     time.Duration `env:"KEHU_LIFECYCLE_CHURN_AFTER, default=8760h"`
	ManualHold     time.Duration `env:"KEHU_LIFECYCLE_MANUAL_HOLD, default=720h"`
	ChurnThreshold int           `env:"KEHU_CHURN_WARNING_THRESHOLD, default=70"`
}

// check refuses settings that would misclassify everyone.
func (l Lifecycle) check() error {
	if l.LoyalPurchases < 2 || l.AtRiskFactor <= 1 || l.ChurnFactor <= l.AtRiskFactor || l.AtRiskAfter <= 0 || l.ChurnAfter <= l.AtRiskAfter || l.ManualHold < 0 || l.ChurnThreshold < 1 || l.ChurnThreshold > 100 {
		return fmt.Errorf("KEHU_LIFECYCLE_*: need LOYAL_PURCHASES ≥ 2, 1 < AT_RISK_FACTOR < CHURN_FACTOR and 0 < AT_RISK_AFTER < CHURN_AFTER, got %+v", l)
	}
	return nil
}

// LoadConfig reads the configuration from the environment.
func LoadConfig(ctx context.Context) (Config, error) {
	var cfg Config
	err := config.Load(ctx, &cfg, defaultAddrs)
	return cfg, err
}

// App is a running analytics service.
type App struct {
	*service.Service
	svc *insight.Service
	cfg Config
}

// New starts the analytics service; listeners are open when it returns.
func New(ctx context.Context, cfg Config, logger *slog.Logger) (*App, error) {
	if !(0 < cfg.ShareA && cfg.ShareA < cfg.ShareB && cfg.ShareB < 1) {
		return nil, fmt.Errorf("KEHU_ANALYTICS_ABC_A and _B must satisfy 0 < A < B < 1, got %v and %v", cfg.ShareA, cfg.ShareB)
	}
	if err := cfg.Lifecycle.check(); err != nil {
		return nil, err
	}
	if err := cfg.Webhooks.check(); err != nil {
		return nil, err
	}
	if cfg.CacheTTL <= 0 || cfg.LocalCacheTTL < 0 || cfg.LocalCacheTTL > cfg.CacheTTL || cfg.LocalCacheEntries <= 0 {
		return nil, fmt.Errorf("KEHU_ANALYTICS_CACHE_TTL must be positive, KEHU_ANALYTICS_LOCAL_CACHE_TTL between 0 and it, and KEHU_ANALYTICS_LOCAL_CACHE_ENTRIES positive; got %s, %s, %d",
			cfg.CacheTTL, cfg.LocalCacheTTL, cfg.LocalCacheEntries)
	}
	if len(cfg.Currency) != 3 {
		return nil, fmt.Errorf("KEHU_ANALYTICS_CURRENCY must be an ISO 4217 code, got %q", cfg.Currency)
	}
	s, err := service.New(ctx, cfg.Service, service.Spec{
		Name:          analyticsv1.AnalyticsService_ServiceDesc.ServiceName,
		Migrations:    migrations.All,
		Policy:        grpcserver.Policy,
		PersonalReads: grpcserver.PersonalReads,
	}, logger)
	if err != nil {
		return nil, err
	}
	customerConn, err := s.Dial(cfg.CustomerAddr)
	if err != nil {
		s.Close()
		return nil, err
	}
	interactionConn, err := s.Dial(cfg.InteractionAddr)
	if err != nil {
		s.Close()
		return nil, err
	}
	memberships, err := membership.New(s.Redis(), cache.NearConfig{TTL: cfg.CacheTTL, LocalTTL: cfg.LocalCacheTTL, LocalEntries: cfg.LocalCacheEntries}, s.Registry)
	if err != nil {
		s.Close()
		return nil, err
	}
	s.Go(memberships.Run)
	// The webhook delivery log holds events about customers, with their
	// contacts: their bodies are sealed like the customer service's
	// personal fields.
	keys, err := s.Keyring(ctx)
	if err != nil {
		s.Close()
		return nil, err
	}
	st := store.New(s.Pool, grpcserver.EncodeEvent)
	hooks := webhook.New(store.NewWebhooks(st, keys), webhook.Config{
		Targets: webhook.Targets{AllowHTTP: cfg.Development(), AllowPrivate: cfg.AllowPrivateTargets},
		Timeout: cfg.Webhooks.Timeout, RetryPeriod: cfg.RetryPeriod, BackoffBase: cfg.BackoffBase, BackoffMax: cfg.BackoffMax,
		DisableAfter: cfg.DisableAfter, SecretGrace: 24 * time.Hour,
	}, s.Registry)
	svc := insight.New(st, memberships, sources.NewStages(customerConn),
		followuprpc.New(interactionConn),
		insight.Config{Currency: cfg.Currency, ShareA: cfg.ShareA, ShareB: cfg.ShareB, Reports: grpcserver.EncodeReportResult},
		insight.Lifecycle{
			LoyalPurchases: cfg.LoyalPurchases, LoyalTenure: cfg.LoyalTenure, AtRiskFactor: cfg.AtRiskFactor, ChurnFactor: cfg.ChurnFactor,
			AtRiskAfter: cfg.AtRiskAfter, ChurnAfter: cfg.ChurnAfter, ManualHold: cfg.ManualHold, Subject: migrations.Schema,
			ChurnThreshold: cfg.ChurnThreshold,
		}, nil)
	if cfg.Follow {
		if err := followSources(s, svc, hooks, cfg, logger); err != nil {
			s.Close()
			return nil, err
		}
		s.GoAsLeader("kehu-webhooks-dispatch", hooks.Dispatch)
		s.Periodic("kehu-webhooks-prune", "webhook_log_prune", time.Hour, func(ctx context.Context, now time.Time) error {
			return hooks.PruneLog(ctx, now.Add(-cfg.LogRetention))
		})
	}
	if cfg.ScoringInterval > 0 {
		s.Periodic("kehu-analytics-scoring", "analytics_scoring", cfg.ScoringInterval, func(ctx context.Context, _ time.Time) error {
			_, _, err := svc.RecomputeAll(ctx)
			return err
		})
	}
	if cfg.LifecycleInterval > 0 {
		s.Periodic("kehu-analytics-lifecycle", "analytics_lifecycle", cfg.LifecycleInterval, func(ctx context.Context, _ time.Time) error {
			n, err := svc.RunLifecycle(ctx)
			if n > 0 {
				logger.Info("lifecycle stages changed", "customers", n)
			}
			return err
		})
	}
	if cfg.ReportsInterval > 0 {
		s.Periodic("kehu-analytics-reports", "analytics_reports", cfg.ReportsInterval, func(ctx context.Context, _ time.Time) error {
			_, err := svc.RunDueReports(ctx)
			return err
		})
	}
	analyticsv1.RegisterAnalyticsServiceServer(s.GRPC(), grpcserver.New(svc, s.Streamer))
	webhookv1.RegisterWebhookServiceServer(s.GRPC(), grpcserver.NewWebhooks(hooks))
	return &App{Service: s, svc: svc, cfg: cfg}, nil
}

// followSources follows each source's event stream on one replica at a
// time (a leader lock per source, so the three can run on different
// replicas), with the service's own credentials, for the read model and,
// with this service's own events, for the webhooks.
func followSources(s *service.Service, svc *insight.Service, hooks *webhook.Service, cfg Config, logger *slog.Logger) error {
	type source struct {
		addr string
		make func(grpc.ClientConnInterface) sources.Source
	}
	for _, src := range []source{
		{cfg.CustomerAddr, sources.Customers},
		{cfg.InteractionAddr, sources.Interactions},
		{cfg.ServiceDeskAddr, sources.ServiceDesk},
	} {
		if src.addr == "" {
			continue
		}
		conn, err := s.Dial(src.addr)
		if err != nil {
			return err
		}
		in := src.make(conn)
		f := follow.New("analytics_"+in.Name+"_events", in.Stream, sources.Consumer(in, svc), logger, s.Registry)
		s.GoAsLeader("kehu-analytics-follow-"+in.Name, f.Run)
		followForWebhooks(s, in.Name, in.Stream, hooks, logger)
	}
	followForWebhooks(s, migrations.Schema, follow.Local(s.Streamer.Stream), hooks, logger)
	return nil
}

// followForWebhooks queues the events of one stream for the webhooks, on
// one replica at a time, with a cursor of its own: webhooks neither wait
// for the read model nor hold it up.
func followForWebhooks(s *service.Service, name string, stream follow.Source, hooks *webhook.Service, logger *slog.Logger) {
	f := follow.New("webhooks_"+name+"_events", stream, sources.WebhookConsumer(name, hooks), logger, s.Registry)
	s.GoAsLeader("kehu-webhooks-follow-"+name, f.Run)
}

// RunLifecycleOnce does one lifecycle pass now; tests and operators use it.
func (a *App) RunLifecycleOnce(ctx context.Context) (int, error) {
	return a.svc.RunLifecycle(ctx)
}

// Migrate applies the analytics schema's migrations.
func Migrate(ctx context.Context, databaseURL string) error {
	return service.Migrate(ctx, databaseURL, migrations.All)
}
