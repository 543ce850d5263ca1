package e2e_test

import (
	"bufio"
	"errors"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/kehu-crm/kehu/e2e"
	"github.com/kehu-crm/kehu/pkg/auth"
)

// TestRESTConditionalRequests: an If-Match the method cannot evaluate is
// refused, not ignored, and a weak tag never satisfies it.
func TestRESTConditionalRequests(t *testing.T) {
	s := e2e.Start(t, e2e.Options{})
	mgr := client{t, s.BaseURL, s.Token(t, "mia", auth.RoleManager)}
	created := mgr.do("POST", "/v1/customers", map[string]any{"displayName": "Zhao Lei"})
	expect(t, created, http.StatusOK)
	name := created.body["name"].(string)

	// Create has no etag to compare.
	r := mgr.do("POST", "/v1/customers", map[string]any{"displayName": "Qian Yu"}, "If-Match", `"1"`)
	expect(t, r, http.StatusBadRequest)
	if r.errorReason() != "IF_MATCH_UNSUPPORTED" || len(r.violations()) != 1 || r.violations()[0] != "If-Match" {
		t.Fatalf("If-Match on create: %s", r.raw)
	}
	// A weak tag of the current version still does not match strongly.
	etag := mgr.do("GET", "/v1/"+name, nil).header.Get("ETag")
	r = mgr.do("PATCH", "/v1/"+name+"?updateMask=title", map[string]any{"title": "Buyer"}, "If-Match", "W/"+etag)
	expect(t, r, http.StatusBadRequest)
	if r.errorReason() != "WEAK_ETAG" {
		t.Fatalf("weak If-Match: %s", r.raw)
	}
	// "*" means any current version.
	expect(t, mgr.do("PATCH", "/v1/"+name+"?updateMask=title", map[string]any{"title": "Buyer"}, "If-Match", "*"), http.StatusOK)
	expect(t, mgr.do("PATCH", "/v1/"+name+"?updateMask=title", map[string]any{"title": "Owner"}, "If-Match", `"2"`), http.StatusOK)
}

// TestRESTHidesInternalRPCs: event streams and bulk import are for
// services over gRPC; the public REST gateway does not serve them, not even
// to an admin.
func TestRESTHidesInternalRPCs(t *testing.T) {
	s := e2e.Start(t, e2e.Options{})
	admin := client{t, s.BaseURL, s.Token(t, "root", auth.RoleAdmin, auth.RoleService)}
	for _, r := range []response{
		admin.do("GET", "/v1/customerEvents:stream", nil),
		admin.do("GET", "/v1/interactionEvents:stream", nil),
		admin.do("POST", "/v1/customers:import", `{"customers":[{"displayName":"X","externalId":"x-1"}]}`),
	} {
		if r.code != http.StatusNotFound || r.errorReason() != "NOT_EXPOSED" {
			t.Errorf("internal RPC over REST: HTTP %d %s", r.code, r.raw)
		}
	}
}

// TestRESTSlowClientCut: a client that never finishes its headers
// (slowloris) loses the connection after the read-header timeout instead
// of holding it and a goroutine forever.
func TestRESTSlowClientCut(t *testing.T) {
	s := e2e.Start(t, e2e.Options{ReadHeaderTimeout: 300 * time.Millisecond})
	conn, err := net.Dial("tcp", strings.TrimPrefix(s.BaseURL, "http://"))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	if _, err := conn.Write([]byte("GET /v1/customers HTTP/1.1\r\nHost: kehu\r\nX-Slow: ")); err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	_ = conn.SetReadDeadline(time.Now().Add(5 * time.Second))
	_, err = bufio.NewReader(conn).ReadString('\n')
	var timeout net.Error
	if errors.As(err, &timeout) && timeout.Timeout() {
		t.Fatalf("connection still open after %s", time.Since(start))
	}
	if waited := time.Since(start); waited > 3*time.Second {
		t.Fatalf("connection cut only after %s", waited)
	}
}
