// Package app wires the interaction service: configuration, the customer
// service client and event follower (pkg/follow), the background worker, the domain on
// its store, and the gRPC handlers, on the platform's service bootstrap
// (pkg/service). kehuctl and the end-to-end tests start it through this
// package.
package app

import (
	"context"
	"fmt"
	"log/slog"
	"time"

	interactionv1 "github.com/kehu-crm/kehu/pkg/api/kehu/interaction/v1"
	"github.com/kehu-crm/kehu/pkg/config"
	customerrpc "github.com/kehu-crm/kehu/pkg/customerref/rpc"
	"github.com/kehu-crm/kehu/pkg/dial"
	"github.com/kehu-crm/kehu/pkg/follow"
	"github.com/kehu-crm/kehu/pkg/importstream"
	"github.com/kehu-crm/kehu/pkg/service"
	"github.com/kehu-crm/kehu/services/interaction/internal/interaction"
	grpcserver "github.com/kehu-crm/kehu/services/interaction/internal/server"
	"github.com/kehu-crm/kehu/services/interaction/internal/store"
	"github.com/kehu-crm/kehu/services/interaction/migrations"
)

// Default listen addresses of the interaction service.
var defaultAddrs = config.Addrs{GRPC: ":9102", Admin: ":9202"}

// Config is the interaction service's configuration.
type Config struct {
	config.Service
	// CustomerAddr is the customer service (host:port, a comma-separated
	// list, or dns:///name:port).
	CustomerAddr string `env:"KEHU_CUSTOMER_ADDR, default=127.0.0.1:9101"`
	// CustomerTimeout bounds each call to the customer service.
	CustomerTimeout time.Duration `env:"KEHU_CUSTOMER_TIMEOUT, default=5s"`
	// FollowUpGrace is how long after its due time a follow-up is missed.
	FollowUpGrace time.Duration `env:"KEHU_FOLLOW_UP_GRACE, default=24h"`
	// WorkerInterval is the period of the background worker; 0 disables it.
	WorkerInterval time.Duration `env:"KEHU_WORKER_INTERVAL, default=1m"`
	// CareTimeZone is the calendar of birthdays and holidays.
	CareTimeZone string `env:"KEHU_CARE_TIMEZONE, default=Asia/Shanghai"`
	// FollowCustomers turns the customer event follower on.
	FollowCustomers bool `env:"KEHU_FOLLOW_CUSTOMER_EVENTS, default=true"`
	// ImportMaxRows and ImportMaxDuration bound one ImportInteractions
	// stream.
	ImportMaxRows     int64         `env:"KEHU_INTERACTION_IMPORT_MAX_ROWS, default=10000000"`
	ImportMaxDuration time.Duration `env:"KEHU_INTERACTION_IMPORT_MAX_DURATION, default=30m"`
}

// LoadConfig reads the configuration from the environment.
func LoadConfig(ctx context.Context) (Config, error) {
	var cfg Config
	err := config.Load(ctx, &cfg, defaultAddrs)
	return cfg, err
}

// App is a running interaction service.
type App struct {
	*service.Service
	svc    *interaction.Service
	worker *interaction.Worker
}

// New starts the interaction service; listeners are open when it returns.
// The event follower and the worker run on the replica holding their lock.
func New(ctx context.Context, cfg Config, logger *slog.Logger) (*App, error) {
	location, err := time.LoadLocation(cfg.CareTimeZone)
	if err != nil {
		return nil, fmt.Errorf("KEHU_CARE_TIMEZONE: %w", err)
	}
	s, err := service.New(ctx, cfg.Service, service.Spec{
		Name:          interactionv1.InteractionService_ServiceDesc.ServiceName,
		Migrations:    migrations.All,
		Policy:        grpcserver.Policy,
		PersonalReads: grpcserver.PersonalReads,
	}, logger)
	if err != nil {
		return nil, err
	}
	customerConn, err := s.Dial(cfg.CustomerAddr, dial.WithDefaultTimeout(cfg.CustomerTimeout))
	if err != nil {
		s.Close()
		return nil, err
	}
	svc := interaction.New(store.New(s.Pool, grpcserver.EncodeEvent), customerrpc.New(customerConn), nil)
	a := &App{Service: s, svc: svc, worker: interaction.NewWorker(svc, interaction.WorkerConfig{
		Interval: cfg.WorkerInterval, Grace: cfg.FollowUpGrace, Location: location,
	}, logger, s.Registry)}
	if cfg.FollowCustomers {
		follower := follow.New("interaction_customer_events", customerrpc.Events(customerConn),
			customerrpc.Consumer(svc.CustomerCursor, svc.ApplyCustomerEvents), logger, s.Registry)
		s.GoAsLeader("kehu-interaction-customer-follower", follower.Run)
	}
	if cfg.WorkerInterval > 0 {
		s.GoAsLeader("kehu-interaction-worker", a.worker.Run)
	}
	interactionv1.RegisterInteractionServiceServer(s.GRPC(), grpcserver.New(svc, s.Streamer, importstream.Limits{
		MaxRows: cfg.ImportMaxRows, MaxDuration: cfg.ImportMaxDuration,
	}))
	return a, nil
}

// RunWorkerOnce does one worker pass now; tests and operators use it.
func (a *App) RunWorkerOnce(ctx context.Context, now time.Time) (interaction.Report, error) {
	return a.worker.RunOnce(ctx, now)
}

// Migrate applies the interaction schema's migrations.
func Migrate(ctx context.Context, databaseURL string) error {
	return service.Migrate(ctx, databaseURL, migrations.All)
}
