package app

import (
	"net/http"
	"time"

	"github.com/kehu-crm/kehu/pkg/auth"
	"github.com/kehu-crm/kehu/services/gateway/internal/console"
)

// newConsole configures the web console. Development sign-in needs both
// the development environment and an HS256 secret: a production gateway,
// or one whose services verify RS256 tokens, never issues tokens itself.
func newConsole(cfg Config) (http.Handler, error) {
	ttl := cfg.DevTokenTTL
	if ttl <= 0 {
		ttl = 8 * time.Hour
	}
	opts := console.Options{DevTokenTTL: ttl, OIDCIssuer: cfg.OIDCIssuer, OIDCClientID: cfg.OIDCClientID, OIDCRolesClaim: cfg.OIDCRolesClaim}
	if cfg.Environment == "development" && cfg.JWTSecret != "" {
		signer, err := auth.NewHS256Signer(cfg.JWTSecret, cfg.JWTIssuer, cfg.JWTAudience)
		if err != nil {
			return nil, err
		}
		opts.DevSigner = signer
	}
	return console.Handler(opts)
}
