package console

import (
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/kehu-crm/kehu/pkg/auth"
)

func serve(t *testing.T, opts Options, method, path, contentType, body string) *http.Response {
	t.Helper()
	h, err := Handler(opts)
	if err != nil {
		t.Fatal(err)
	}
	req := httptest.NewRequest(method, path, strings.NewReader(body))
	if contentType != "" {
		req.Header.Set("Content-Type", contentType)
	}
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	return rec.Result()
}

func TestEveryRouteOfTheAppGetsThePageWithSecurityHeaders(t *testing.T) {
	t.Parallel()
	for _, path := range []string{"/console/", "/console/customers/abc", "/console/analysis"} {
		res := serve(t, Options{}, "GET", path, "", "")
		body, _ := io.ReadAll(res.Body)
		if res.StatusCode != 200 || !strings.Contains(string(body), `<div id="root">`) {
			t.Fatalf("GET %s: %d %.80s", path, res.StatusCode, body)
		}
		csp := res.Header.Get("Content-Security-Policy")
		for _, want := range []string{"script-src 'self'", "frame-ancestors 'none'", "object-src 'none'"} {
			if !strings.Contains(csp, want) {
				t.Errorf("GET %s: CSP %q lacks %q", path, csp, want)
			}
		}
		if strings.Contains(csp, "'unsafe-") {
			t.Errorf("GET %s: CSP allows inline or eval'd script or style: %q", path, csp)
		}
		for k, want := range map[string]string{"X-Content-Type-Options": "nosniff", "X-Frame-Options": "DENY", "Referrer-Policy": "no-referrer"} {
			if got := res.Header.Get(k); got != want {
				t.Errorf("GET %s: %s = %q, want %q", path, k, got, want)
			}
		}
	}
}

func TestThePageLoadsNoInlineScript(t *testing.T) {
	t.Parallel()
	res := serve(t, Options{}, "GET", "/console/", "", "")
	body, _ := io.ReadAll(res.Body)
	page := string(body)
	for _, tag := range strings.Split(page, "<script")[1:] {
		if !strings.Contains(strings.SplitN(tag, ">", 2)[0], "src=") {
			t.Fatalf("inline script in the page (the CSP would block it): <script%.80s", tag)
		}
	}
	// The script it names is served, as JavaScript, cached for good.
	src := strings.SplitN(strings.SplitN(page, `src="`, 2)[1], `"`, 2)[0]
	js := serve(t, Options{}, "GET", src, "", "")
	if js.StatusCode != 200 || !strings.Contains(js.Header.Get("Content-Type"), "javascript") || !strings.Contains(js.Header.Get("Cache-Control"), "immutable") {
		t.Fatalf("GET %s: %d %q %q", src, js.StatusCode, js.Header.Get("Content-Type"), js.Header.Get("Cache-Control"))
	}
	if missing := serve(t, Options{}, "GET", "/console/assets/nothing.js", "", ""); missing.StatusCode != 404 {
		t.Errorf("a missing asset: %d, want 404 (not the page)", missing.StatusCode)
	}
}

func TestDevSignInIsRefusedWithoutTheDevelopmentSigner(t *testing.T) {
	t.Parallel()
	res := serve(t, Options{}, "POST", "/console/devSignIn", "application/json", `{"subject":"alice","role":"admin"}`)
	var st struct {
		Code    int    `json:"code"`
		Message string `json:"message"`
		Details []struct {
			Reason string `json:"reason"`
		} `json:"details"`
	}
	if err := json.NewDecoder(res.Body).Decode(&st); err != nil {
		t.Fatal(err)
	}
	if res.StatusCode != http.StatusForbidden || len(st.Details) == 0 || st.Details[0].Reason != "DEV_SIGN_IN_DISABLED" {
		t.Fatalf("dev sign-in without a signer: %d %+v", res.StatusCode, st)
	}
	var cfg publicConfig
	_ = json.NewDecoder(serve(t, Options{}, "GET", "/console/config.json", "", "").Body).Decode(&cfg)
	if cfg.DevSignIn {
		t.Error("config.json offers dev sign-in without a signer")
	}
}

func TestDevSignInIssuesATokenTheServicesAccept(t *testing.T) {
	t.Parallel()
	const secret = "a-test-secret-that-is-long-enough-0123456789"
	signer, err := auth.NewHS256Signer(secret, "kehu", "kehu")
	if err != nil {
		t.Fatal(err)
	}
	opts := Options{DevSigner: signer, DevTokenTTL: time.Hour}
	res := serve(t, opts, "POST", "/console/devSignIn", "application/json", `{"subject":"alice","role":"agent"}`)
	var got devSignInResponse
	if err := json.NewDecoder(res.Body).Decode(&got); err != nil || res.StatusCode != 200 {
		t.Fatalf("dev sign-in: %d %v", res.StatusCode, err)
	}
	if res.Header.Get("Cache-Control") != "no-store" {
		t.Errorf("a token answer may be cached: Cache-Control %q", res.Header.Get("Cache-Control"))
	}
	v, err := auth.NewVerifier(t.Context(), auth.Config{Issuer: "kehu", Audience: "kehu", HS256Secret: secret})
	if err != nil {
		t.Fatal(err)
	}
	p, err := v.Verify(got.Token)
	if err != nil || p.Subject != "alice" || !p.Has(auth.RoleAgent) || len(p.Roles) != 1 {
		t.Fatalf("issued token: %+v %v", p, err)
	}

	for _, tc := range []struct{ name, contentType, body string }{
		{"service role", "application/json", `{"subject":"alice","role":"service"}`},
		{"unknown role", "application/json", `{"subject":"alice","role":"root"}`},
		{"no subject", "application/json", `{"subject":" ","role":"admin"}`},
		{"a form post", "application/x-www-form-urlencoded", `subject=alice&role=admin`},
	} {
		if res := serve(t, opts, "POST", "/console/devSignIn", tc.contentType, tc.body); res.StatusCode != http.StatusBadRequest {
			t.Errorf("%s: %d, want 400", tc.name, res.StatusCode)
		}
	}
}

func TestTheIdentityProviderIsTheOnlyOtherOriginTheAppMayCall(t *testing.T) {
	t.Parallel()
	opts := Options{OIDCIssuer: "https://idp.example.cn/realms/kehu", OIDCClientID: "kehu-console", OIDCRolesClaim: "realm_access.roles"}
	res := serve(t, opts, "GET", "/console/", "", "")
	if csp := res.Header.Get("Content-Security-Policy"); !strings.Contains(csp, "connect-src 'self' https://idp.example.cn;") {
		t.Errorf("CSP %q does not let the app reach the identity provider", csp)
	}
	var cfg publicConfig
	_ = json.NewDecoder(serve(t, opts, "GET", "/console/config.json", "", "").Body).Decode(&cfg)
	if cfg.OIDC.Issuer != opts.OIDCIssuer || cfg.OIDC.ClientID != "kehu-console" || cfg.OIDC.RolesClaim != "realm_access.roles" || cfg.DevSignIn {
		t.Errorf("config.json: %+v", cfg)
	}
	if _, err := Handler(Options{OIDCIssuer: "javascript:alert(1)"}); err == nil {
		t.Error("an issuer that is no http(s) URL is accepted")
	}
}
