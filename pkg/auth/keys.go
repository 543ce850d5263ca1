package auth

import (
	"context"
	"encoding/pem"
	"fmt"
	"log/slog"
	"net/url"
	"os"
	"time"

	"github.com/MicahParks/keyfunc/v3"
	"github.com/golang-jwt/jwt/v5"
)

// Where the keys that verify tokens come from.

// fixedKeys verifies with any of keys.
func fixedKeys(keys ...jwt.VerificationKey) jwt.Keyfunc {
	set := jwt.VerificationKeySet{Keys: keys}
	return func(*jwt.Token) (any, error) { return set, nil }
}

// keyFile reads one or more PEM RSA public keys: during a rotation the file
// holds the old and the new key.
func keyFile(path string) (jwt.Keyfunc, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("auth: reading public keys: %w", err)
	}
	var keys []jwt.VerificationKey
	for {
		var block *pem.Block
		block, data = pem.Decode(data)
		if block == nil {
			break
		}
		k, err := jwt.ParseRSAPublicKeyFromPEM(pem.EncodeToMemory(block))
		if err != nil {
			return nil, fmt.Errorf("auth: %s: %w", path, err)
		}
		keys = append(keys, k)
	}
	if len(keys) == 0 {
		return nil, fmt.Errorf("auth: %s holds no PEM public key", path)
	}
	return fixedKeys(keys...), nil
}

// JWKS refresh: the whole set hourly, and at once (at most every 5 min, as
// keyfunc's defaults) when a token names a kid not yet seen, which is how
// a provider's new key is picked up on its first use.
const (
	jwksRefreshInterval = time.Hour
	jwksFetchTimeout    = 10 * time.Second
)

// remoteKeySet follows an identity provider's JSON Web Key Set. A provider
// unreachable at start does not stop the service: tokens fail until the set
// can be fetched. Plain HTTP would let anyone on the path substitute keys,
// so it is refused outside development.
func remoteKeySet(ctx context.Context, rawURL string, development bool) (jwt.Keyfunc, error) {
	u, err := url.Parse(rawURL)
	if err != nil || u.Host == "" || (u.Scheme != "https" && u.Scheme != "http") {
		return nil, fmt.Errorf("auth: JWKS URL %q is not an absolute http(s) URL", rawURL)
	}
	if u.Scheme != "https" && !development {
		return nil, fmt.Errorf("auth: JWKS URL %q must use https outside development", rawURL)
	}
	k, err := keyfunc.NewDefaultOverrideCtx(ctx, []string{rawURL}, keyfunc.Override{
		HTTPTimeout:     jwksFetchTimeout,
		RefreshInterval: jwksRefreshInterval,
		RefreshErrorHandlerFunc: func(u string) func(context.Context, error) {
			return func(ctx context.Context, err error) {
				slog.ErrorContext(ctx, "refreshing the identity provider's JWKS failed; tokens signed with new keys are refused until it succeeds", "url", u, "error", err)
			}
		},
	})
	if err != nil {
		return nil, fmt.Errorf("auth: JWKS %s: %w", rawURL, err)
	}
	return k.KeyfuncCtx(ctx), nil
}
