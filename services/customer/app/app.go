// Package app wires the customer service: configuration, the domain on its
// store and cache, and the gRPC handlers, on the platform's service
// bootstrap (pkg/service). It is importable so that kehuctl and the
// end-to-end tests start the exact service that ships.
package app

import (
	"context"
	"fmt"
	"log/slog"
	"time"

	customerv1 "github.com/kehu-crm/kehu/pkg/api/kehu/customer/v1"
	pkgcache "github.com/kehu-crm/kehu/pkg/cache"
	"github.com/kehu-crm/kehu/pkg/config"
	"github.com/kehu-crm/kehu/pkg/importstream"
	"github.com/kehu-crm/kehu/pkg/service"
	"github.com/kehu-crm/kehu/services/customer/internal/customer"
	"github.com/kehu-crm/kehu/services/customer/internal/savedview"
	grpcserver "github.com/kehu-crm/kehu/services/customer/internal/server"
	"github.com/kehu-crm/kehu/services/customer/internal/store"
	"github.com/kehu-crm/kehu/services/customer/migrations"
)

// Default listen addresses of the customer service.
var defaultAddrs = config.Addrs{GRPC: ":9101", Admin: ":9201"}

// Config is the customer service's configuration.
type Config struct {
	config.Service
	// DefaultPhoneRegion reads phone numbers written without "+country".
	DefaultPhoneRegion string `env:"KEHU_DEFAULT_PHONE_REGION, default=CN"`
	// MembershipTiers are the points thresholds of membership tiers.
	MembershipTiers string `env:"KEHU_MEMBERSHIP_TIERS, default=SILVER=1000,GOLD=5000,PLATINUM=20000"`
	// CacheTTL bounds how stale a cached customer can be.
	CacheTTL time.Duration `env:"KEHU_CACHE_TTL, default=60s"`
	// LocalCacheTTL bounds how long a replica answers a customer from its
	// own memory should an invalidation be lost; 0 turns that tier off.
	LocalCacheTTL time.Duration `env:"KEHU_CUSTOMER_LOCAL_CACHE_TTL, default=5s"`
	// LocalCacheEntries bounds the in-process tier per replica.
	LocalCacheEntries int `env:"KEHU_CUSTOMER_LOCAL_CACHE_ENTRIES, default=100000"`
	// ImportMaxRows and ImportMaxDuration bound one import stream.
	ImportMaxRows     int64         `env:"KEHU_IMPORT_MAX_ROWS, default=1000000"`
	ImportMaxDuration time.Duration `env:"KEHU_IMPORT_MAX_DURATION, default=30m"`
	// UnmergeWindow is how long a merge can be reversed; its record (which
	// holds both customers as they were) is kept as long.
	UnmergeWindow time.Duration `env:"KEHU_UNMERGE_WINDOW, default=720h"`
	// PIIResealInterval is how often one replica re-encrypts what an older
	// data key sealed (after a rotation) under the newest one.
	PIIResealInterval time.Duration `env:"KEHU_PII_RESEAL_INTERVAL, default=1h"`
}

// LoadConfig reads the configuration from the environment.
func LoadConfig(ctx context.Context) (Config, error) {
	var cfg Config
	err := config.Load(ctx, &cfg, defaultAddrs)
	return cfg, err
}

// New starts the customer service; listeners are open when it returns, so
// GRPCAddr is known before Serve.
func New(ctx context.Context, cfg Config, logger *slog.Logger) (*service.Service, error) {
	tiers, err := customer.ParseTiers(cfg.MembershipTiers)
	if err != nil {
		return nil, err
	}
	if cfg.CacheTTL <= 0 || cfg.LocalCacheTTL < 0 || cfg.LocalCacheTTL > cfg.CacheTTL || cfg.LocalCacheEntries < 0 {
		return nil, fmt.Errorf("configuration: KEHU_CACHE_TTL (%s) must be positive, KEHU_CUSTOMER_LOCAL_CACHE_TTL (%s) between 0 and it, KEHU_CUSTOMER_LOCAL_CACHE_ENTRIES (%d) not negative",
			cfg.CacheTTL, cfg.LocalCacheTTL, cfg.LocalCacheEntries)
	}
	if cfg.PIIResealInterval <= 0 {
		return nil, fmt.Errorf("configuration: KEHU_PII_RESEAL_INTERVAL (%s) must be positive", cfg.PIIResealInterval)
	}
	s, err := service.New(ctx, cfg.Service, service.Spec{
		Name:          customerv1.CustomerService_ServiceDesc.ServiceName,
		Migrations:    migrations.All,
		Policy:        grpcserver.Policy,
		PersonalReads: grpcserver.PersonalReads,
	}, logger)
	if err != nil {
		return nil, err
	}
	crypto, err := openCrypto(ctx, s, cfg)
	if err != nil {
		s.Close()
		return nil, err
	}
	st := store.New(s.Pool, grpcserver.EncodeEvent, crypto)
	// Rows from before encryption are sealed before anything is served:
	// their contacts must be blind indexes before new ones are claimed.
	if n, err := st.Reseal(ctx, true); err != nil {
		s.Close()
		return nil, fmt.Errorf("encrypting personal fields written before encryption: %w", err)
	} else if n != (store.Resealed{}) {
		logger.Info("encrypted personal fields written before encryption", "customers", n.Customers, "merges", n.Merges, "events", n.Events)
	}
	s.Periodic("kehu-customer-pii-reseal", "pii_reseal", cfg.PIIResealInterval, func(ctx context.Context, _ time.Time) error {
		n, err := st.Reseal(ctx, false)
		if n != (store.Resealed{}) {
			logger.Info("re-encrypted personal fields under the newest data key", "customers", n.Customers, "merges", n.Merges, "events", n.Events)
		}
		return err
	})
	cache, err := store.NewCache(s.Redis(), pkgcache.NearConfig{TTL: cfg.CacheTTL, LocalTTL: cfg.LocalCacheTTL, LocalEntries: cfg.LocalCacheEntries}, s.Registry)
	if err != nil {
		s.Close()
		return nil, err
	}
	s.Go(cache.Run)
	svc := customer.New(st, cache,
		customer.Config{DefaultRegion: cfg.DefaultPhoneRegion, Tiers: tiers, UnmergeWindow: cfg.UnmergeWindow})
	s.Retain("merges", cfg.UnmergeWindow, st.PruneMerges)
	customerv1.RegisterCustomerServiceServer(s.GRPC(), grpcserver.New(svc, savedview.New(st.SavedViews(), nil), s.Streamer, importstream.Limits{
		MaxRows: cfg.ImportMaxRows, MaxDuration: cfg.ImportMaxDuration,
	}))
	// The suite's audit trail is read (and pruned) here: admins look in
	// one place for what happened in every service.
	s.ServeAuditTrail()
	return s, nil
}

// openCrypto loads the schema's data keys and makes the outbox stream
// open the payloads they seal.
func openCrypto(ctx context.Context, s *service.Service, cfg Config) (*store.Crypto, error) {
	keys, err := s.Keyring(ctx)
	if err != nil {
		return nil, err
	}
	s.Streamer.OpenWith(keys)
	return store.NewCrypto(keys, cfg.DefaultPhoneRegion), nil
}

// Migrate applies the customer schema's migrations.
func Migrate(ctx context.Context, databaseURL string) error {
	return service.Migrate(ctx, databaseURL, migrations.All)
}
