// Package config loads service configuration from KEHU_* environment
// variables with go-envconfig. Each service embeds Service and adds its own
// fields; the README's configuration table lists them all.
package config

import (
	"context"
	"fmt"
	"time"

	"github.com/sethvargo/go-envconfig"
)

// Service is the configuration every gRPC service shares.
type Service struct {
	// GRPCAddr is the gRPC listen address; each service has its own default.
	GRPCAddr string `env:"KEHU_GRPC_ADDR"`
	// AdminAddr serves /metrics, /healthz and /readyz.
	AdminAddr string `env:"KEHU_ADMIN_ADDR"`
	// DatabaseURL is the PostgreSQL connection string.
	DatabaseURL string `env:"KEHU_DATABASE_URL, default=postgres://postgres@127.0.0.1:5432/kehu?sslmode=disable"`
	// RedisURL is the cache; empty disables caching.
	RedisURL string `env:"KEHU_REDIS_URL, default=redis://127.0.0.1:6379/0"`
	// JWTIssuer and JWTAudience must match the iss and aud of every token.
	JWTIssuer   string `env:"KEHU_JWT_ISSUER, default=kehu"`
	JWTAudience string `env:"KEHU_JWT_AUDIENCE, default=kehu"`
	// JWTSecret verifies HS256 tokens (development, at least 32 bytes).
	JWTSecret string `env:"KEHU_JWT_SECRET"`
	// JWTPublicKeyFile holds PEM RS256 public keys (production).
	JWTPublicKeyFile string `env:"KEHU_JWT_PUBLIC_KEY_FILE"`
	// ShutdownTimeout bounds GracefulStop before in-flight calls are cut.
	ShutdownTimeout time.Duration `env:"KEHU_SHUTDOWN_TIMEOUT, default=20s"`
	// DrainDelay is how long the server reports NOT_SERVING before it stops
	// accepting calls, so load balancers take it out of rotation first.
	DrainDelay time.Duration `env:"KEHU_DRAIN_DELAY, default=0s"`
	// MaxConnectionAge makes clients reconnect periodically, so connections
	// rebalance over replicas as they come and go.
	MaxConnectionAge time.Duration `env:"KEHU_MAX_CONNECTION_AGE, default=5m"`
	// LogLevel is debug, info, warn or error.
	LogLevel string `env:"KEHU_LOG_LEVEL, default=info"`
}

// Load fills into (a pointer to a struct with env tags) from the process
// environment.
func Load(ctx context.Context, into any) error {
	if err := envconfig.Process(ctx, into); err != nil {
		return fmt.Errorf("configuration: %w", err)
	}
	return nil
}
