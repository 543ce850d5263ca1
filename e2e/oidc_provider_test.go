package e2e_test

import (
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"net/url"
	"sync"
	"testing"
	"time"

	"github.com/kehu-crm/kehu/pkg/auth"
	"github.com/kehu-crm/kehu/pkg/testkit"
)

// oidcProvider is a minimal OpenID Connect provider for the console's
// sign-in: discovery, an authorization endpoint that signs "oidc-user" in
// at once (no login form), and a token endpoint that checks the PKCE
// verifier against the challenge, the client and the redirect URI as a real
// provider does. Its tokens are signed as the suite's services verify them.
type oidcProvider struct {
	t       *testing.T
	server  *httptest.Server
	mu      sync.Mutex
	pending map[string]authorization // by code
	issued  int
}

type authorization struct {
	challenge, clientID, redirectURI string
}

func newOIDCProvider(t *testing.T) *oidcProvider {
	p := &oidcProvider{t: t, pending: map[string]authorization{}}
	mux := http.NewServeMux()
	mux.HandleFunc("GET /.well-known/openid-configuration", p.discovery)
	mux.HandleFunc("GET /authorize", p.authorize)
	mux.HandleFunc("POST /token", p.token)
	mux.HandleFunc("OPTIONS /token", p.token)
	p.server = httptest.NewServer(mux)
	t.Cleanup(p.server.Close)
	return p
}

func (p *oidcProvider) URL() string { return p.server.URL }

// cors lets the console, on the gateway's origin, call the provider.
func cors(w http.ResponseWriter) {
	w.Header().Set("Access-Control-Allow-Origin", "*")
	w.Header().Set("Access-Control-Allow-Headers", "Content-Type")
}

func (p *oidcProvider) discovery(w http.ResponseWriter, _ *http.Request) {
	cors(w)
	_ = json.NewEncoder(w).Encode(map[string]string{
		"issuer": p.server.URL, "authorization_endpoint": p.server.URL + "/authorize", "token_endpoint": p.server.URL + "/token",
	})
}

func (p *oidcProvider) authorize(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	if q.Get("response_type") != "code" || q.Get("code_challenge_method") != "S256" || q.Get("code_challenge") == "" || q.Get("state") == "" {
		http.Error(w, "authorization code with PKCE (S256) and state required", http.StatusBadRequest)
		return
	}
	code := "code-" + q.Get("state")
	p.mu.Lock()
	p.pending[code] = authorization{challenge: q.Get("code_challenge"), clientID: q.Get("client_id"), redirectURI: q.Get("redirect_uri")}
	p.mu.Unlock()
	back, _ := url.Parse(q.Get("redirect_uri"))
	back.RawQuery = url.Values{"code": {code}, "state": {q.Get("state")}}.Encode()
	http.Redirect(w, r, back.String(), http.StatusFound)
}

func (p *oidcProvider) token(w http.ResponseWriter, r *http.Request) {
	cors(w)
	if r.Method == http.MethodOptions {
		return
	}
	fail := func(reason string) {
		w.WriteHeader(http.StatusBadRequest)
		_ = json.NewEncoder(w).Encode(map[string]string{"error": "invalid_grant", "error_description": reason})
	}
	code := r.PostFormValue("code")
	p.mu.Lock()
	a, ok := p.pending[code]
	delete(p.pending, code) // a code is good once
	p.mu.Unlock()
	sum := sha256.Sum256([]byte(r.PostFormValue("code_verifier")))
	switch {
	case !ok:
		fail("unknown or used code")
	case base64.RawURLEncoding.EncodeToString(sum[:]) != a.challenge:
		fail("code_verifier does not match the challenge")
	case r.PostFormValue("client_id") != a.clientID || r.PostFormValue("redirect_uri") != a.redirectURI:
		fail("client or redirect URI differs from the authorization request")
	default:
		signer, err := auth.NewHS256Signer(testkit.Secret, "kehu", "kehu")
		if err != nil {
			p.t.Error(err)
			return
		}
		tok, err := signer.Sign("oidc-user", []auth.Role{auth.RoleAgent}, time.Hour)
		if err != nil {
			p.t.Error(err)
			return
		}
		p.mu.Lock()
		p.issued++
		p.mu.Unlock()
		_ = json.NewEncoder(w).Encode(map[string]any{"access_token": tok, "token_type": "Bearer", "expires_in": 3600})
	}
}

// Issued is how many tokens the provider handed out.
func (p *oidcProvider) Issued() int {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.issued
}
