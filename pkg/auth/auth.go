// Package auth authenticates gRPC callers with bearer JWTs and authorizes
// them against a per-service permission table.
//
// Tokens are verified with golang-jwt with the algorithm pinned (HS256 for
// development, RS256 in production: public keys from a file or the identity
// provider's JWKS URL, see keys.go), and exp, iss and aud are
// always required: a token minted for another audience or without an expiry
// is as good as none. The authenticated Principal travels in the context so
// the domain layer can apply finer, per-record rules (ownership, masking).
package auth

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/golang-jwt/jwt/v5"
	"github.com/hashicorp/golang-lru/v2/expirable"

	"github.com/kehu-crm/kehu/pkg/errs"
)

// Role is what a caller may do. A token carries one or more roles.
type Role string

// The roles. admin may call everything; the permission table of each
// service says what the others may call.
const (
	RoleAdmin   Role = "admin"
	RoleManager Role = "manager"
	RoleAgent   Role = "agent"
	RoleAnalyst Role = "analyst"
	RoleViewer  Role = "viewer"
	// RoleService is held by Kehu's own services calling each other.
	RoleService Role = "service"
)

// Roles lists every role, for validating user input such as kehuctl flags.
var Roles = []Role{RoleAdmin, RoleManager, RoleAgent, RoleAnalyst, RoleViewer, RoleService}

// ParseRole validates a role name.
func ParseRole(s string) (Role, error) {
	r := Role(strings.ToLower(strings.TrimSpace(s)))
	if !slices.Contains(Roles, r) {
		return "", fmt.Errorf("unknown role %q (roles: admin, manager, agent, analyst, viewer, service)", s)
	}
	return r, nil
}

// Principal is an authenticated caller.
type Principal struct {
	Subject string
	Roles   []Role
}

// Has reports whether p holds role r.
func (p Principal) Has(r Role) bool { return slices.Contains(p.Roles, r) }

// HasAny reports whether p holds at least one of roles.
func (p Principal) HasAny(roles ...Role) bool {
	return slices.ContainsFunc(roles, p.Has)
}

type principalKey struct{}

// NewContext returns ctx carrying p.
func NewContext(ctx context.Context, p Principal) context.Context {
	return context.WithValue(ctx, principalKey{}, p)
}

// FromContext returns the caller authenticated for this request.
func FromContext(ctx context.Context) (Principal, bool) {
	p, ok := ctx.Value(principalKey{}).(Principal)
	return p, ok
}

// DevelopmentSecret is the HS256 secret `kehuctl dev` and the dev overlay
// use. It is published (it is in this repository), so anyone can mint
// tokens with it: a verifier refuses it unless Development is set.
const DevelopmentSecret = "kehu-development-secret-not-for-production"

// Config selects how tokens are verified. Exactly one of HS256Secret,
// RS256KeyFile and JWKSURL must be set.
type Config struct {
	Issuer   string
	Audience string
	// Development allows DevelopmentSecret and a JWKS URL over plain HTTP.
	Development bool
	// MaxLifetime, when set, refuses tokens valid for longer (exp - iat,
	// or exp - now without iat): a leaked long-lived token is a standing
	// credential.
	MaxLifetime time.Duration
	// HS256Secret is the shared development secret (at least 32 bytes).
	HS256Secret string
	// RS256KeyFile holds one or more PEM public keys; a token verifies if
	// any of them signed it, which lets operators rotate keys.
	RS256KeyFile string
	// JWKSURL is the identity provider's JSON Web Key Set (https): RS256
	// tokens are verified with the key their kid names, and keys the
	// provider rotates in are fetched when first seen.
	JWKSURL string
	// RolesClaim names the claim holding the caller's roles when an
	// identity provider puts them elsewhere than Kehu's own "roles": a
	// top-level name ("groups", "https://kehu.example/roles") or a dotted
	// path into nested objects ("realm_access.roles"). Such a claim also
	// carries other applications' roles, so names that are not Kehu
	// roles are ignored there (a token with none of Kehu's roles may call
	// nothing); in "roles" an unknown name refuses the token.
	RolesClaim string
}

// MinSecretLength is the shortest HS256 secret accepted: shorter secrets can
// be brute-forced from a single token.
const MinSecretLength = 32

type claims struct {
	jwt.RegisteredClaims
	Roles []Role `json:"roles"`
	// all is every claim of the token, for a configured roles claim.
	all map[string]any
}

// UnmarshalJSON keeps every claim besides the registered ones and roles.
func (c *claims) UnmarshalJSON(b []byte) error {
	type plain claims
	if err := json.Unmarshal(b, (*plain)(c)); err != nil {
		return err
	}
	return json.Unmarshal(b, &c.all)
}

// Verifier checks bearer tokens.
type Verifier struct {
	parser      *jwt.Parser
	keys        jwt.Keyfunc
	rolesClaim  string
	maxLifetime time.Duration
	// verified remembers tokens that passed, so a caller sending the same
	// token on every call (services, the gateway forwarding a session) is
	// not re-parsed each time: decoding the claims costs more than the
	// rest of a cached lookup. Only exact token strings that verified are
	// kept, each until it expires but at most verifiedFor, so a key the
	// identity provider withdraws stops being honoured within that time.
	verified *expirable.LRU[string, verifiedToken]
}

type verifiedToken struct {
	principal Principal
	expires   time.Time
}

const (
	verifiedFor    = time.Minute
	verifiedTokens = 10_000
)

// NewVerifier builds a Verifier from cfg. With a JWKS URL, the key set is
// refreshed in the background until ctx ends.
func NewVerifier(ctx context.Context, cfg Config) (*Verifier, error) {
	if cfg.Issuer == "" || cfg.Audience == "" {
		return nil, errors.New("auth: issuer and audience are required")
	}
	set := 0
	for _, v := range []string{cfg.HS256Secret, cfg.RS256KeyFile, cfg.JWKSURL} {
		if v != "" {
			set++
		}
	}
	if set > 1 {
		return nil, errors.New("auth: set one of an HS256 secret, an RS256 key file or a JWKS URL, not several")
	}
	method := jwt.SigningMethodRS256.Alg()
	var keys jwt.Keyfunc
	var err error
	switch {
	case cfg.HS256Secret == DevelopmentSecret && !cfg.Development:
		return nil, errors.New("auth: the published development JWT secret is refused outside development " +
			"(KEHU_ENVIRONMENT=development); in production verify RS256 tokens (KEHU_JWT_JWKS_URL or KEHU_JWT_PUBLIC_KEY_FILE) or set a secret of your own")
	case cfg.HS256Secret != "":
		if len(cfg.HS256Secret) < MinSecretLength {
			return nil, fmt.Errorf("auth: HS256 secret must be at least %d bytes", MinSecretLength)
		}
		method, keys = jwt.SigningMethodHS256.Alg(), fixedKeys([]byte(cfg.HS256Secret))
	case cfg.RS256KeyFile != "":
		keys, err = keyFile(cfg.RS256KeyFile)
	case cfg.JWKSURL != "":
		keys, err = remoteKeySet(ctx, cfg.JWKSURL, cfg.Development)
	default:
		return nil, errors.New("auth: no token key configured (set KEHU_JWT_JWKS_URL, KEHU_JWT_PUBLIC_KEY_FILE or, for development, KEHU_JWT_SECRET)")
	}
	if err != nil {
		return nil, err
	}
	return &Verifier{
		parser: jwt.NewParser(
			jwt.WithValidMethods([]string{method}),
			jwt.WithIssuer(cfg.Issuer),
			jwt.WithAudience(cfg.Audience),
			jwt.WithExpirationRequired(),
			jwt.WithIssuedAt(),
			jwt.WithLeeway(30*time.Second),
		),
		keys:        keys,
		rolesClaim:  cfg.RolesClaim,
		maxLifetime: cfg.MaxLifetime,
		verified:    expirable.NewLRU[string, verifiedToken](verifiedTokens, nil, verifiedFor),
	}, nil
}

// Verify checks token and returns its principal. Every failure is
// UNAUTHENTICATED; the reason is in the message, never which key was close.
func (v *Verifier) Verify(token string) (Principal, error) {
	if t, ok := v.verified.Get(token); ok && time.Now().Before(t.expires) {
		return t.principal, nil
	}
	var c claims
	if _, err := v.parser.ParseWithClaims(token, &c, v.keys); err != nil {
		return Principal{}, errs.Unauthenticated("invalid token: %s", describe(err))
	}
	if err := v.checkLifetime(c); err != nil {
		return Principal{}, err
	}
	p, err := v.principalOf(c)
	if err == nil {
		v.verified.Add(token, verifiedToken{principal: p, expires: c.ExpiresAt.Time})
	}
	return p, err
}

// lifetimeLeeway absorbs clock skew between the issuer and this service.
const lifetimeLeeway = time.Minute

func (v *Verifier) checkLifetime(c claims) error {
	if v.maxLifetime <= 0 {
		return nil
	}
	from := time.Now()
	if c.IssuedAt != nil {
		from = c.IssuedAt.Time
	}
	if c.ExpiresAt.Sub(from) > v.maxLifetime+lifetimeLeeway {
		return errs.Unauthenticated("invalid token: valid for longer than the allowed %s", v.maxLifetime)
	}
	return nil
}

func (v *Verifier) principalOf(c claims) (Principal, error) {
	if c.Subject == "" {
		return Principal{}, errs.Unauthenticated("invalid token: no subject")
	}
	if v.rolesClaim != "" && v.rolesClaim != "roles" {
		return Principal{Subject: c.Subject, Roles: kehuRoles(claimAt(c.all, v.rolesClaim))}, nil
	}
	for _, r := range c.Roles {
		if !slices.Contains(Roles, r) {
			return Principal{}, errs.Unauthenticated("invalid token: unknown role %q", r)
		}
	}
	return Principal{Subject: c.Subject, Roles: c.Roles}, nil
}

// claimAt finds a claim by its whole name, else by a dotted path through
// nested objects (namespaced claim names are URLs full of dots).
func claimAt(all map[string]any, name string) any {
	if v, ok := all[name]; ok {
		return v
	}
	var cur any = all
	for part := range strings.SplitSeq(name, ".") {
		m, ok := cur.(map[string]any)
		if !ok {
			return nil
		}
		cur = m[part]
	}
	return cur
}

// kehuRoles are the Kehu roles in a claim's value: a list of names or one
// name (a space-separated list, as some providers write scopes).
func kehuRoles(v any) []Role {
	var names []string
	switch x := v.(type) {
	case string:
		names = strings.Fields(x)
	case []any:
		for _, n := range x {
			if s, ok := n.(string); ok {
				names = append(names, s)
			}
		}
	}
	var out []Role
	for _, n := range names {
		r := Role(strings.ToLower(n))
		// roleAnyone marks permission tables; a token never holds it.
		if slices.Contains(Roles, r) && !slices.Contains(out, r) {
			out = append(out, r)
		}
	}
	return out
}

func describe(err error) string {
	switch {
	case errors.Is(err, jwt.ErrTokenExpired):
		return "token has expired"
	case errors.Is(err, jwt.ErrTokenMalformed):
		return "token is malformed"
	case errors.Is(err, jwt.ErrTokenSignatureInvalid), errors.Is(err, jwt.ErrTokenUnverifiable):
		return "signature is invalid"
	case errors.Is(err, jwt.ErrTokenInvalidAudience):
		return "token is for another audience"
	case errors.Is(err, jwt.ErrTokenInvalidIssuer):
		return "token is from another issuer"
	case errors.Is(err, jwt.ErrTokenRequiredClaimMissing):
		return "token lacks a required claim (exp)"
	case errors.Is(err, jwt.ErrTokenNotValidYet), errors.Is(err, jwt.ErrTokenUsedBeforeIssued):
		return "token is not valid yet"
	}
	return "token rejected"
}

// Signer mints HS256 tokens: for development (kehuctl token), tests, and
// service-to-service calls in clusters that share the secret.
type Signer struct {
	secret   []byte
	issuer   string
	audience string
}

// NewHS256Signer returns a Signer for the given secret, issuer and audience.
func NewHS256Signer(secret, issuer, audience string) (*Signer, error) {
	if len(secret) < MinSecretLength {
		return nil, fmt.Errorf("auth: HS256 secret must be at least %d bytes", MinSecretLength)
	}
	return &Signer{secret: []byte(secret), issuer: issuer, audience: audience}, nil
}

// Sign returns a token for subject with roles, valid for ttl.
func (s *Signer) Sign(subject string, roles []Role, ttl time.Duration) (string, error) {
	now := time.Now()
	c := claims{
		RegisteredClaims: jwt.RegisteredClaims{
			Issuer:    s.issuer,
			Subject:   subject,
			Audience:  jwt.ClaimStrings{s.audience},
			IssuedAt:  jwt.NewNumericDate(now),
			ExpiresAt: jwt.NewNumericDate(now.Add(ttl)),
		},
		Roles: roles,
	}
	return jwt.NewWithClaims(jwt.SigningMethodHS256, c).SignedString(s.secret)
}
