package e2e_test

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"

	"github.com/kehu-crm/kehu/e2e"
	"github.com/kehu-crm/kehu/pkg/testkit"
)

// TestConsoleInBrowser drives the web console in headless Chromium
// (web/e2e/console.test.mjs, playwright-core) against a suite holding the demo
// data: sign-in, creating and editing a customer, logging a follow-up
// visit, resolving a ticket, the journey map in both languages and
// signing in with OpenID Connect (newOIDCProvider), with
// screenshots in web/e2e/artifacts. It needs Chromium and web/node_modules,
// which `make test-browser` installs as a fresh machine would; plain
// `go test` skips it unless KEHU_BROWSER_TESTS=1.
func TestConsoleInBrowser(t *testing.T) {
	if os.Getenv("KEHU_BROWSER_TESTS") != "1" {
		t.Skip("browser tests run with KEHU_BROWSER_TESTS=1 (make test-browser)")
	}
	root, err := filepath.Abs("..")
	if err != nil {
		t.Fatal(err)
	}
	kehuctl := os.Getenv("KEHU_KEHUCTL")
	if kehuctl == "" {
		kehuctl = filepath.Join(root, ".state", "bin", "kehuctl")
	}
	idp := newOIDCProvider(t)
	s := e2e.Start(t, e2e.Options{OIDCIssuer: idp.URL()})
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()

	// The demo data set, loaded exactly as `kehuctl dev --demo` loads it.
	demo := exec.CommandContext(ctx, kehuctl, "demo", "--customer", s.CustomerAddr, "--interaction", s.InteractionAddr,
		"--servicedesk", s.ServiceDeskAddr, "--analytics", s.AnalyticsAddr)
	demo.Env = append(os.Environ(), "KEHU_JWT_SECRET="+testkit.Secret)
	if out, err := demo.CombinedOutput(); err != nil {
		t.Fatalf("kehuctl demo: %v\n%s", err, out)
	}

	browser := exec.CommandContext(ctx, "node", "--test", "--test-reporter=spec", "e2e/console.test.mjs")
	browser.Dir = filepath.Join(root, "web")
	browser.Env = append(os.Environ(), "KEHU_CONSOLE_URL="+s.BaseURL+"/console/")
	browser.Stdout, browser.Stderr = os.Stdout, os.Stderr
	if err := browser.Run(); err != nil {
		t.Fatalf("browser scenarios failed (screenshots in web/e2e/artifacts): %v", err)
	}
	if idp.Issued() != 1 {
		t.Errorf("the identity provider issued %d tokens, want 1 (the OIDC sign-in)", idp.Issued())
	}
}
