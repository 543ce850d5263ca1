package auth

import (
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"math/big"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"
)

// identityProvider serves a JSON Web Key Set whose keys a test can rotate.
type identityProvider struct {
	mu      sync.Mutex
	keys    map[string]*rsa.PrivateKey
	fetches int
}

func (p *identityProvider) ServeHTTP(w http.ResponseWriter, _ *http.Request) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.fetches++
	b64 := base64.RawURLEncoding.EncodeToString
	var set struct {
		Keys []map[string]string `json:"keys"`
	}
	for kid, k := range p.keys {
		set.Keys = append(set.Keys, map[string]string{
			"kty": "RSA", "use": "sig", "alg": "RS256", "kid": kid,
			"n": b64(k.N.Bytes()), "e": b64(big.NewInt(int64(k.E)).Bytes()),
		})
	}
	w.Header().Set("Content-Type", "application/json")
	_ = json.NewEncoder(w).Encode(set)
}

func (p *identityProvider) add(kid string, k *rsa.PrivateKey) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.keys[kid] = k
}

func signRS256(t *testing.T, kid string, k *rsa.PrivateKey) string {
	t.Helper()
	tok := jwt.NewWithClaims(jwt.SigningMethodRS256, jwt.MapClaims{
		"sub": "alice", "iss": "https://idp.example.com", "aud": "kehu", "roles": []string{"agent"},
		"iat": time.Now().Unix(), "exp": time.Now().Add(time.Hour).Unix(),
	})
	tok.Header["kid"] = kid
	s, err := tok.SignedString(k)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// Tokens verify against the provider's JWKS by kid; a key the provider
// rotates in is fetched on its first use; nothing else verifies.
func TestVerifyJWKSRotation(t *testing.T) {
	first, _ := rsa.GenerateKey(rand.Reader, 2048)
	next, _ := rsa.GenerateKey(rand.Reader, 2048)
	idp := &identityProvider{keys: map[string]*rsa.PrivateKey{"k1": first}}
	srv := httptest.NewServer(idp)
	t.Cleanup(srv.Close)
	v, err := NewVerifier(t.Context(), Config{Issuer: "https://idp.example.com", Audience: "kehu", JWKSURL: srv.URL, Development: true})
	if err != nil {
		t.Fatal(err)
	}
	if p, err := v.Verify(signRS256(t, "k1", first)); err != nil || p.Subject != "alice" || !p.Has(RoleAgent) {
		t.Fatalf("token of the current key: %+v, %v", p, err)
	}

	idp.add("k2", next)
	if p, err := v.Verify(signRS256(t, "k2", next)); err != nil || p.Subject != "alice" {
		t.Fatalf("token of the rotated-in key: %+v, %v", p, err)
	}
	if _, err := v.Verify(signRS256(t, "k1", first)); err != nil {
		t.Fatalf("token of the old key during the rotation: %v", err)
	}

	for name, tok := range map[string]string{
		"kid of another key": signRS256(t, "k1", next),
		"unknown kid":        signRS256(t, "k9", next),
	} {
		if _, err := v.Verify(tok); err == nil {
			t.Errorf("%s: accepted", name)
		}
	}
	der, _ := x509.MarshalPKIXPublicKey(&first.PublicKey)
	hs := jwt.NewWithClaims(jwt.SigningMethodHS256, jwt.MapClaims{"sub": "alice", "iss": "https://idp.example.com", "aud": "kehu", "exp": time.Now().Add(time.Hour).Unix()})
	hs.Header["kid"] = "k1"
	forged, _ := hs.SignedString(der)
	if _, err := v.Verify(forged); err == nil {
		t.Error("HS256 token signed with the public key accepted")
	}
}
