package auth

import (
	"context"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/pem"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"
	"google.golang.org/grpc"
	"google.golang.org/grpc/metadata"

	"github.com/kehu-crm/kehu/pkg/errs"
)

const secret = "0123456789abcdef0123456789abcdef"

func verifier(t *testing.T) *Verifier {
	t.Helper()
	v, err := NewVerifier(t.Context(), Config{Issuer: "kehu", Audience: "kehu", HS256Secret: secret})
	if err != nil {
		t.Fatal(err)
	}
	return v
}

func TestVerifyHS256(t *testing.T) {
	v := verifier(t)
	s, _ := NewHS256Signer(secret, "kehu", "kehu")
	tok, err := s.Sign("alice", []Role{RoleAgent}, time.Minute)
	if err != nil {
		t.Fatal(err)
	}
	p, err := v.Verify(tok)
	if err != nil || p.Subject != "alice" || !p.Has(RoleAgent) || p.Has(RoleAdmin) {
		t.Fatalf("Verify = %+v, %v", p, err)
	}
}

func TestVerifyRejects(t *testing.T) {
	v := verifier(t)
	good, _ := NewHS256Signer(secret, "kehu", "kehu")
	otherKey, _ := NewHS256Signer(strings.Repeat("x", 32), "kehu", "kehu")
	otherAud, _ := NewHS256Signer(secret, "kehu", "elsewhere")
	otherIss, _ := NewHS256Signer(secret, "evil", "kehu")
	sign := func(s *Signer, ttl time.Duration) string {
		tok, err := s.Sign("alice", []Role{RoleAgent}, ttl)
		if err != nil {
			t.Fatal(err)
		}
		return tok
	}
	none, _ := jwt.NewWithClaims(jwt.SigningMethodNone, jwt.MapClaims{"sub": "alice", "iss": "kehu", "aud": "kehu", "exp": time.Now().Add(time.Hour).Unix()}).SignedString(jwt.UnsafeAllowNoneSignatureType)
	noExp, _ := jwt.NewWithClaims(jwt.SigningMethodHS256, jwt.MapClaims{"sub": "alice", "iss": "kehu", "aud": "kehu"}).SignedString([]byte(secret))
	badRole, _ := jwt.NewWithClaims(jwt.SigningMethodHS256, jwt.MapClaims{"sub": "alice", "iss": "kehu", "aud": "kehu", "exp": time.Now().Add(time.Hour).Unix(), "roles": []string{"root"}}).SignedString([]byte(secret))
	cases := map[string]struct{ token, want string }{
		"expired":      {sign(good, -time.Hour), "expired"},
		"forged":       {sign(otherKey, time.Hour), "signature"},
		"audience":     {sign(otherAud, time.Hour), "audience"},
		"issuer":       {sign(otherIss, time.Hour), "issuer"},
		"alg none":     {none, "signature"},
		"no exp":       {noExp, "exp"},
		"garbage":      {"not.a.token", "malformed"},
		"unknown role": {badRole, "unknown role"},
	}
	for name, c := range cases {
		t.Run(name, func(t *testing.T) {
			_, err := v.Verify(c.token)
			if !errs.Is(err, errs.KindUnauthenticated) || !strings.Contains(err.Error(), c.want) {
				t.Fatalf("Verify = %v, want UNAUTHENTICATED mentioning %q", err, c.want)
			}
		})
	}
}

func TestVerifyRS256RotatedKeys(t *testing.T) {
	old, _ := rsa.GenerateKey(rand.Reader, 2048)
	cur, _ := rsa.GenerateKey(rand.Reader, 2048)
	var pemData []byte
	for _, k := range []*rsa.PrivateKey{cur, old} {
		der, _ := x509.MarshalPKIXPublicKey(&k.PublicKey)
		pemData = append(pemData, pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: der})...)
	}
	file := filepath.Join(t.TempDir(), "keys.pem")
	if err := os.WriteFile(file, pemData, 0o600); err != nil {
		t.Fatal(err)
	}
	v, err := NewVerifier(t.Context(), Config{Issuer: "kehu", Audience: "kehu", RS256KeyFile: file})
	if err != nil {
		t.Fatal(err)
	}
	claims := jwt.MapClaims{"sub": "svc", "iss": "kehu", "aud": "kehu", "exp": time.Now().Add(time.Hour).Unix(), "roles": []string{"service"}}
	for _, k := range []*rsa.PrivateKey{old, cur} {
		tok, _ := jwt.NewWithClaims(jwt.SigningMethodRS256, claims).SignedString(k)
		if p, err := v.Verify(tok); err != nil || !p.Has(RoleService) {
			t.Fatalf("Verify = %+v, %v", p, err)
		}
	}
	// An HS256 token signed with the public key bytes (the classic
	// algorithm-confusion attack) must fail: the algorithm is pinned.
	der, _ := x509.MarshalPKIXPublicKey(&cur.PublicKey)
	hs, _ := jwt.NewWithClaims(jwt.SigningMethodHS256, claims).SignedString(der)
	if _, err := v.Verify(hs); err == nil {
		t.Fatal("HS256 token accepted by an RS256 verifier")
	}
}

func TestConfigErrors(t *testing.T) {
	for name, cfg := range map[string]Config{
		"no key":       {Issuer: "a", Audience: "b"},
		"short secret": {Issuer: "a", Audience: "b", HS256Secret: "short"},
		"both":         {Issuer: "a", Audience: "b", HS256Secret: secret, RS256KeyFile: "x"},
		"no issuer":    {Audience: "b", HS256Secret: secret},
		"missing file": {Issuer: "a", Audience: "b", RS256KeyFile: "/nonexistent"},
		"key and JWKS": {Issuer: "a", Audience: "b", RS256KeyFile: "x", JWKSURL: "https://idp.example.com/jwks"},
		"JWKS no host": {Issuer: "a", Audience: "b", JWKSURL: "https:///jwks"},
		"JWKS http":    {Issuer: "a", Audience: "b", JWKSURL: "http://idp.example.com/jwks"},
	} {
		if _, err := NewVerifier(t.Context(), cfg); err == nil {
			t.Errorf("%s: NewVerifier accepted %+v", name, cfg)
		}
	}
}

func TestInterceptor(t *testing.T) {
	v := verifier(t)
	s, _ := NewHS256Signer(secret, "kehu", "kehu")
	policy := Policy{"/svc/Read": {RoleViewer, RoleAgent}, "/svc/Write": {RoleAgent}, "/svc/Answer": Anyone}
	interceptor := UnaryServerInterceptor(v, policy)
	call := func(method, authz string) (Principal, error) {
		ctx := context.Background()
		if authz != "" {
			ctx = metadata.NewIncomingContext(ctx, metadata.Pairs("authorization", authz))
		}
		var got Principal
		_, err := interceptor(ctx, nil, &grpc.UnaryServerInfo{FullMethod: method}, func(ctx context.Context, _ any) (any, error) {
			got, _ = FromContext(ctx)
			return nil, nil
		})
		return got, err
	}
	tok := func(role Role) string {
		tk, _ := s.Sign("u1", []Role{role}, time.Minute)
		return "Bearer " + tk
	}
	if p, err := call("/svc/Read", tok(RoleViewer)); err != nil || p.Subject != "u1" {
		t.Fatalf("viewer read: %+v %v", p, err)
	}
	if _, err := call("/svc/Write", tok(RoleViewer)); !errs.Is(err, errs.KindPermissionDenied) {
		t.Fatalf("viewer write: %v", err)
	}
	if _, err := call("/svc/Unlisted", tok(RoleAgent)); !errs.Is(err, errs.KindPermissionDenied) {
		t.Fatalf("unlisted method: %v", err)
	}
	if _, err := call("/svc/Unlisted", tok(RoleAdmin)); err != nil {
		t.Fatalf("admin: %v", err)
	}
	if _, err := call("/svc/Read", ""); !errs.Is(err, errs.KindUnauthenticated) {
		t.Fatalf("no token: %v", err)
	}
	if _, err := call("/svc/Read", "Basic abc"); !errs.Is(err, errs.KindUnauthenticated) {
		t.Fatalf("basic auth: %v", err)
	}
	// Anyone methods take no token and make no principal, even when a
	// token is sent; an Anyone role cannot be smuggled into a token.
	for _, authz := range []string{"", tok(RoleViewer)} {
		if p, err := call("/svc/Answer", authz); err != nil || p.Subject != "" {
			t.Fatalf("anyone method with %q: %+v %v", authz, p, err)
		}
	}
	forged, _ := jwt.NewWithClaims(jwt.SigningMethodHS256, jwt.MapClaims{"sub": "x", "iss": "kehu", "aud": "kehu", "exp": time.Now().Add(time.Hour).Unix(), "roles": []string{string(roleAnyone)}}).SignedString([]byte(secret))
	if _, err := call("/svc/Read", "Bearer "+forged); !errs.Is(err, errs.KindUnauthenticated) {
		t.Fatalf("token claiming the anyone role: %v", err)
	}
	if _, err := call("/grpc.health.v1.Health/Check", ""); err != nil {
		t.Fatalf("health must be public: %v", err)
	}
}

func TestServiceTokensRenew(t *testing.T) {
	s, _ := NewHS256Signer(secret, "kehu", "kehu")
	src := NewServiceTokens(s, "interaction")
	a, _ := src.Token(context.Background())
	b, _ := src.Token(context.Background())
	if a == "" || a != b {
		t.Fatal("token not reused within its renewal window")
	}
	p, err := verifier(t).Verify(a)
	if err != nil || p.Subject != "interaction" || !p.Has(RoleService) {
		t.Fatalf("service token: %+v %v", p, err)
	}
}

// TestProductionGuards: the published development secret is refused
// outside development, and tokens valid for longer than the maximum are
// refused.
func TestProductionGuards(t *testing.T) {
	t.Parallel()
	if _, err := NewVerifier(t.Context(), Config{Issuer: "kehu", Audience: "kehu", HS256Secret: DevelopmentSecret}); err == nil {
		t.Fatal("the published development secret was accepted in production")
	}
	v, err := NewVerifier(t.Context(), Config{Issuer: "kehu", Audience: "kehu", HS256Secret: DevelopmentSecret, Development: true, MaxLifetime: 24 * time.Hour})
	if err != nil {
		t.Fatal(err)
	}
	s, err := NewHS256Signer(DevelopmentSecret, "kehu", "kehu")
	if err != nil {
		t.Fatal(err)
	}
	for ttl, ok := range map[time.Duration]bool{time.Hour: true, 24 * time.Hour: true, 30 * 24 * time.Hour: false} {
		tok, err := s.Sign("alice", []Role{RoleAgent}, ttl)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := v.Verify(tok); (err == nil) != ok {
			t.Errorf("token valid for %s: %v, want accepted=%v", ttl, err, ok)
		}
	}
}

// An identity provider's roles are read from the configured claim, by its
// whole name or a dotted path; names that are not Kehu roles are ignored
// there, and the default "roles" claim plays no part.
func TestRolesFromAConfiguredClaim(t *testing.T) {
	t.Parallel()
	sign := func(extra jwt.MapClaims) string {
		c := jwt.MapClaims{"sub": "alice", "iss": "kehu", "aud": "kehu", "exp": time.Now().Add(time.Hour).Unix()}
		for k, v := range extra {
			c[k] = v
		}
		tok, err := jwt.NewWithClaims(jwt.SigningMethodHS256, c).SignedString([]byte(secret))
		if err != nil {
			t.Fatal(err)
		}
		return tok
	}
	keycloak := jwt.MapClaims{"realm_access": map[string]any{"roles": []string{"offline_access", "Manager", "uma_authorization"}}, "roles": []string{"admin"}}
	cases := []struct {
		claim  string
		claims jwt.MapClaims
		want   []Role
	}{
		{"realm_access.roles", keycloak, []Role{RoleManager}},
		{"https://kehu.example/roles", jwt.MapClaims{"https://kehu.example/roles": []string{"agent", "viewer"}}, []Role{RoleAgent, RoleViewer}},
		{"groups", jwt.MapClaims{"groups": "analyst everyone"}, []Role{RoleAnalyst}},
		{"groups", jwt.MapClaims{"groups": []string{"staff"}, "roles": []string{"admin"}}, nil},
		{"realm_access.roles", jwt.MapClaims{"realm_access": "not an object"}, nil},
		{"", keycloak, []Role{RoleAdmin}},
	}
	for _, c := range cases {
		v, err := NewVerifier(t.Context(), Config{Issuer: "kehu", Audience: "kehu", HS256Secret: secret, RolesClaim: c.claim})
		if err != nil {
			t.Fatal(err)
		}
		p, err := v.Verify(sign(c.claims))
		if err != nil || p.Subject != "alice" || !slices.Equal(p.Roles, c.want) {
			t.Errorf("claim %q of %v: %+v, %v; want roles %v", c.claim, c.claims, p, err, c.want)
		}
	}
}
