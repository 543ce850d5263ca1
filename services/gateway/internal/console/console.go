// Package console serves Kehu's web console: the single-page app built
// from web/ (embedded, so a gateway binary is all a deployment needs), its
// public configuration, and in development a sign-in that issues tokens.
//
// The app is a client of the public REST API like any other; it holds the
// bearer token in memory only, so nothing an injected script could read is
// left in storage, and the Content-Security-Policy allows scripts from the
// gateway's own origin only.
package console

import (
	"bytes"
	"embed"
	"encoding/json"
	"fmt"
	"io/fs"
	"net/http"
	"net/url"
	"path"
	"strings"
	"time"

	"github.com/kehu-crm/kehu/pkg/auth"
)

// Prefix is where the console is served.
const Prefix = "/console/"

//go:embed all:dist
var dist embed.FS

// Options configure the console.
type Options struct {
	// DevSigner, when set, lets anyone who can reach the gateway sign in as
	// any user with any role: only for development (see DevSignIn).
	DevSigner *auth.Signer
	// DevTokenTTL is how long a development token is valid.
	DevTokenTTL time.Duration
	// OIDCIssuer and OIDCClientID describe the identity provider the
	// console signs in with (authorization code + PKCE, a public client).
	OIDCIssuer   string
	OIDCClientID string
	// OIDCRolesClaim names the claim of the provider's tokens holding the
	// roles ("" for "roles").
	OIDCRolesClaim string
}

// securityHeaders are set on every console response. The policy allows no
// inline script or style sheet, no framing and no third-party origin but
// the identity provider's, which the app calls for discovery and the token
// (connectTo). Styles set through the DOM (React's style prop, the charts'
// tooltips) are not inline markup and need no exception.
func securityHeaders(connectTo string) map[string]string {
	connect := "'self'"
	if connectTo != "" {
		connect += " " + connectTo
	}
	return map[string]string{
		"Content-Security-Policy": "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; " +
			"connect-src " + connect + "; font-src 'self'; object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'",
		"X-Content-Type-Options": "nosniff",
		"X-Frame-Options":        "DENY",
		"Referrer-Policy":        "no-referrer",
	}
}

// origin is the scheme and host of an issuer URL, as a CSP source.
func origin(issuer string) (string, error) {
	if issuer == "" {
		return "", nil
	}
	u, err := url.Parse(issuer)
	if err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" {
		return "", fmt.Errorf("console: KEHU_OIDC_ISSUER %q is not an http(s) URL", issuer)
	}
	return u.Scheme + "://" + u.Host, nil
}

// Handler serves everything under Prefix.
func Handler(opts Options) (http.Handler, error) {
	files, err := fs.Sub(dist, "dist")
	if err != nil {
		return nil, err
	}
	index, err := fs.ReadFile(files, "index.html")
	if err != nil {
		return nil, fmt.Errorf("console: the embedded bundle has no index.html (run make web): %w", err)
	}
	idp, err := origin(opts.OIDCIssuer)
	if err != nil {
		return nil, err
	}
	config, err := json.Marshal(publicConfig{
		DevSignIn: opts.DevSigner != nil,
		OIDC:      oidcConfig{Issuer: opts.OIDCIssuer, ClientID: opts.OIDCClientID, RolesClaim: opts.OIDCRolesClaim},
	})
	if err != nil {
		return nil, err
	}
	mux := http.NewServeMux()
	mux.HandleFunc("GET "+Prefix+"config.json", func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		w.Header().Set("Cache-Control", "no-store")
		_, _ = w.Write(config)
	})
	mux.Handle("POST "+Prefix+"devSignIn", devSignIn(opts.DevSigner, opts.DevTokenTTL))
	assets := http.StripPrefix(strings.TrimSuffix(Prefix, "/"), http.FileServerFS(files))
	mux.HandleFunc("GET "+Prefix+"assets/", func(w http.ResponseWriter, r *http.Request) {
		// File names carry a hash of their content.
		w.Header().Set("Cache-Control", "public, max-age=31536000, immutable")
		assets.ServeHTTP(w, r)
	})
	// Every other path is a route of the app: the same page, which reads
	// the path itself.
	mux.HandleFunc("GET "+Prefix, func(w http.ResponseWriter, r *http.Request) {
		if ext := path.Ext(r.URL.Path); ext != "" && r.URL.Path != Prefix+"index.html" {
			if _, err := fs.Stat(files, strings.TrimPrefix(r.URL.Path, Prefix)); err == nil {
				assets.ServeHTTP(w, r)
				return
			}
			http.NotFound(w, r)
			return
		}
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		w.Header().Set("Cache-Control", "no-cache")
		http.ServeContent(w, r, "index.html", time.Time{}, bytes.NewReader(index))
	})
	return withSecurityHeaders(mux, securityHeaders(idp)), nil
}

func withSecurityHeaders(next http.Handler, headers map[string]string) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		for k, v := range headers {
			w.Header().Set(k, v)
		}
		next.ServeHTTP(w, r)
	})
}

type publicConfig struct {
	// DevSignIn tells the app to offer the development sign-in page.
	DevSignIn bool       `json:"devSignIn"`
	OIDC      oidcConfig `json:"oidc"`
}

type oidcConfig struct {
	Issuer     string `json:"issuer"`
	ClientID   string `json:"clientId"`
	RolesClaim string `json:"rolesClaim,omitempty"`
}
