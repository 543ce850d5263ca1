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
	// StatementTimeout bounds every SQL statement of a request.
	StatementTimeout time.Duration `env:"KEHU_STATEMENT_TIMEOUT, default=30s"`
	// RedisURL is the cache; empty disables caching.
	RedisURL string `env:"KEHU_REDIS_URL, default=redis://127.0.0.1:6379/0"`
	// CacheKeys seal what the services put in Redis: comma-separated
	// base64 keys of 32 bytes, the first sealing, all opening (rotation).
	// Unset, a key derived from KEHU_PAGE_TOKEN_KEY seals, or without one
	// a random key of each process's own.
	CacheKeys string `env:"KEHU_CACHE_KEYS"`
	// PIIKEKs are the key-encryption keys that wrap the data keys
	// encrypting personal fields (package envelope): comma-separated
	// base64 keys of 32 bytes, the first wrapping, all unwrapping
	// (rotation). Required outside development by the services that hold
	// personal data (customer; analytics, for its webhook delivery log);
	// development falls back to a published key.
	PIIKEKs string `env:"KEHU_PII_KEKS"`
	// JWTIssuer and JWTAudience must match the iss and aud of every token.
	JWTIssuer   string `env:"KEHU_JWT_ISSUER, default=kehu"`
	JWTAudience string `env:"KEHU_JWT_AUDIENCE, default=kehu"`
	// Environment is "development" or "production"; only development
	// accepts the published development JWT secret.
	Environment string `env:"KEHU_ENVIRONMENT, default=production"`
	// JWTMaxLifetime refuses tokens valid for longer; 0 allows any.
	JWTMaxLifetime time.Duration `env:"KEHU_JWT_MAX_LIFETIME, default=24h"`
	// JWTSecret verifies HS256 tokens (development, at least 32 bytes).
	JWTSecret string `env:"KEHU_JWT_SECRET"`
	// JWTPublicKeyFile holds PEM RS256 public keys (production).
	JWTPublicKeyFile string `env:"KEHU_JWT_PUBLIC_KEY_FILE"`
	// JWTJWKSURL is the identity provider's JWKS endpoint (production):
	// RS256 keys by kid, rotation followed automatically.
	JWTJWKSURL string `env:"KEHU_JWT_JWKS_URL"`
	// JWTRolesClaim is the token claim holding the caller's roles when the
	// identity provider puts them elsewhere than "roles" (e.g. "groups",
	// "realm_access.roles"); see auth.Config.RolesClaim.
	JWTRolesClaim string `env:"KEHU_OIDC_ROLES_CLAIM"`
	// ServiceTokenFile holds the bearer token this service presents to
	// others when KEHU_JWT_SECRET is not set (RS256 deployments).
	ServiceTokenFile string `env:"KEHU_SERVICE_TOKEN_FILE"`
	// PageTokenKey signs page tokens; set the same key on every replica.
	PageTokenKey string `env:"KEHU_PAGE_TOKEN_KEY"`
	// RateLimit is how many calls per second one caller may make to one
	// service (shared by its replicas through Redis); 0 turns it off.
	RateLimit int `env:"KEHU_RATE_LIMIT, default=100"`
	// RateLimitBurst is how many calls may come at once after a quiet spell.
	RateLimitBurst int `env:"KEHU_RATE_LIMIT_BURST, default=200"`
	// ShutdownTimeout bounds GracefulStop before in-flight calls are cut.
	ShutdownTimeout time.Duration `env:"KEHU_SHUTDOWN_TIMEOUT, default=20s"`
	// DrainDelay is how long the server reports NOT_SERVING before it stops
	// accepting calls, so load balancers take it out of rotation first.
	DrainDelay time.Duration `env:"KEHU_DRAIN_DELAY, default=0s"`
	// MaxConnectionAge makes clients reconnect periodically, so connections
	// rebalance over replicas as they come and go.
	MaxConnectionAge time.Duration `env:"KEHU_MAX_CONNECTION_AGE, default=5m"`
	// OutboxRetention is how long events stay in the outbox for consumers;
	// a consumer further behind must resynchronise.
	OutboxRetention time.Duration `env:"KEHU_OUTBOX_RETENTION, default=168h"`
	// RequestIDRetention is how long a request id is remembered (AIP-155):
	// a retry within it returns the first result.
	RequestIDRetention time.Duration `env:"KEHU_REQUEST_ID_RETENTION, default=72h"`
	// AuditRetention is how long audit entries are kept (0: forever); the
	// service serving the trail prunes older ones.
	AuditRetention time.Duration `env:"KEHU_AUDIT_RETENTION, default=9600h"`
	// MaxMessageBytes bounds one gRPC message in either direction.
	MaxMessageBytes int `env:"KEHU_GRPC_MAX_MESSAGE_BYTES, default=4194304"`
	// LogLevel is debug, info, warn or error.
	LogLevel string `env:"KEHU_LOG_LEVEL, default=info"`
	// TLS secures the gRPC server and the calls to other services; unset,
	// both are plaintext.
	TLS TLS
}

// TLS names the PEM files that secure gRPC between Kehu's programs. The
// files are read again when they change (package tlsfiles), so a
// certificate renewed in place (cert-manager, a mounted Secret) is used by
// the next connection without a restart. Every field empty is plaintext.
type TLS struct {
	// CertFile and KeyFile are this program's certificate chain and key.
	// With them the gRPC server serves TLS only, and outgoing calls present
	// them when the server asks for a client certificate.
	CertFile string `env:"KEHU_TLS_CERT_FILE"`
	KeyFile  string `env:"KEHU_TLS_KEY_FILE"`
	// ClientCAFile makes the server require a client certificate signed by
	// one of its CAs (mutual TLS); it needs CertFile.
	ClientCAFile string `env:"KEHU_TLS_CLIENT_CA_FILE"`
	// CAFile makes outgoing calls use TLS and verify the server against
	// its CAs instead of the system's.
	CAFile string `env:"KEHU_TLS_CA_FILE"`
	// ServerName is the name outgoing calls expect in the server's
	// certificate; empty takes the host of the address dialled.
	ServerName string `env:"KEHU_TLS_SERVER_NAME"`
}

// Addrs are a service's default listen addresses, used where
// KEHU_GRPC_ADDR or KEHU_ADMIN_ADDR is not set.
type Addrs struct {
	GRPC  string
	Admin string
}

// base is implemented by every struct that embeds Service.
type base interface{ base() *Service }

func (s *Service) base() *Service { return s }

// Load fills into (a pointer to a struct with env tags) from the process
// environment. When into embeds Service, its unset listen addresses take
// the service's defaults.
func Load(ctx context.Context, into any, defaults Addrs) error {
	if err := envconfig.Process(ctx, into); err != nil {
		return fmt.Errorf("configuration: %w", err)
	}
	if b, ok := into.(base); ok {
		s := b.base()
		if s.GRPCAddr == "" {
			s.GRPCAddr = defaults.GRPC
		}
		if s.AdminAddr == "" {
			s.AdminAddr = defaults.Admin
		}
	}
	return nil
}

// Development reports a development deployment.
func (s *Service) Development() bool { return s.Environment == "development" }
