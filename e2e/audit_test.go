package e2e_test

import (
	"context"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/kehu-crm/kehu/e2e"
	"github.com/kehu-crm/kehu/pkg/auth"
	"github.com/kehu-crm/kehu/pkg/testdb"
	analyticsmigrations "github.com/kehu-crm/kehu/services/analytics/migrations"
	customermigrations "github.com/kehu-crm/kehu/services/customer/migrations"
	interactionmigrations "github.com/kehu-crm/kehu/services/interaction/migrations"
	servicedeskmigrations "github.com/kehu-crm/kehu/services/servicedesk/migrations"
)

// Changes in every service, and a manager's read of personal data, end up
// in one trail that admins (only) list over REST: who, what, which fields
// (never their values), the result and where the call came from.
func TestRESTAuditTrail(t *testing.T) {
	db := testdb.New(t, customermigrations.All, interactionmigrations.All, servicedeskmigrations.All, analyticsmigrations.All)
	s := e2e.Start(t, e2e.Options{DatabaseURL: db})
	admin := client{t, s.BaseURL, s.Token(t, "root", auth.RoleAdmin)}
	mgr := client{t, s.BaseURL, s.Token(t, "mia", auth.RoleManager)}
	alice := client{t, s.BaseURL, s.Token(t, "alice", auth.RoleAgent)}
	vera := client{t, s.BaseURL, s.Token(t, "vera", auth.RoleViewer)}
	// The HTTP client is behind a proxy that says where it is.
	from := []string{"X-Forwarded-For", "203.0.113.7"}
	const secretEmail, secretPhone = "audit.secret@example.com", "+8613900001111"

	c := mgr.do("POST", "/v1/customers?requestId=audit-create", map[string]any{"displayName": "Audit Probe", "company": "Probe Co."}, from...)
	expect(t, c, http.StatusOK)
	customer := c.body["name"].(string)
	expect(t, mgr.do("PATCH", "/v1/"+customer+"?updateMask=emails,phones", map[string]any{
		"emails": []string{secretEmail}, "phones": []string{secretPhone},
	}, append(from, "X-Request-Id", "audit-update-1")...), http.StatusOK)
	expect(t, vera.do("PATCH", "/v1/"+customer+"?updateMask=emails", map[string]any{"emails": []string{secretEmail}}, from...), http.StatusForbidden)
	read := mgr.do("GET", "/v1/"+customer, nil, from...)
	expect(t, read, http.StatusOK)
	if !strings.Contains(read.raw, secretEmail) {
		t.Fatalf("the manager's read is masked: %s", read.raw)
	}
	in := alice.do("POST", "/v1/"+customer+"/interactions", map[string]any{
		"channel": "CHANNEL_PHONE", "kind": "INTERACTION_KIND_CONTACT", "subject": "Audit", "touchpoint": "touchpoints/hotline",
	}, from...)
	expect(t, in, http.StatusOK)
	tk := mgr.do("POST", "/v1/tickets", map[string]any{
		"customer": customer, "type": "TICKET_TYPE_INQUIRY", "channel": "CHANNEL_HOTLINE", "subject": "Audit",
	}, from...)
	expect(t, tk, http.StatusOK)
	seg := mgr.do("POST", "/v1/segments?segmentId=audit-lapsed", map[string]any{"displayName": "Audit lapsed", "filter": "days_since_last_purchase > 90"}, from...)
	expect(t, seg, http.StatusOK)

	// Only admins read the trail.
	expect(t, mgr.do("GET", "/v1/auditEntries", nil), http.StatusForbidden)
	expect(t, alice.do("GET", "/v1/auditEntries", nil), http.StatusForbidden)
	expect(t, admin.do("GET", "/v1/auditEntries?filter="+urlQuery("nonsense = 1"), nil), http.StatusBadRequest)

	type want struct {
		service, method, actor, kind, result, resource string
		fields                                         []string
	}
	wants := []want{
		{"customer", "CreateCustomer", "mia", "KIND_MUTATION", "OK", customer, []string{"company", "display_name"}},
		{"customer", "UpdateCustomer", "mia", "KIND_MUTATION", "OK", customer, []string{"emails", "phones"}},
		{"customer", "UpdateCustomer", "vera", "KIND_MUTATION", "PERMISSION_DENIED", customer, []string{"emails"}},
		{"customer", "GetCustomer", "mia", "KIND_PERSONAL_DATA_READ", "OK", customer, nil},
		{"interaction", "CreateInteraction", "alice", "KIND_MUTATION", "OK", in.body["name"].(string), []string{"channel", "kind", "subject", "touchpoint"}},
		{"servicedesk", "CreateTicket", "mia", "KIND_MUTATION", "OK", tk.body["name"].(string), []string{"channel", "customer", "subject", "type"}},
		{"analytics", "CreateSegment", "mia", "KIND_MUTATION", "OK", seg.body["name"].(string), []string{"display_name", "filter"}},
	}
	// Entries are written within a second of the call.
	filter := urlQuery(`client_address = "203.0.113.7*" AND time >= "` + time.Now().Add(-time.Hour).UTC().Format(time.RFC3339) + `"`)
	var entries []any
	waitFor(t, "the audit entries", func() bool {
		list := admin.do("GET", "/v1/auditEntries?pageSize=1000&filter="+filter, nil)
		expect(t, list, http.StatusOK)
		entries, _ = list.body["auditEntries"].([]any)
		return len(entries) >= len(wants)
	})
	if len(entries) != len(wants) {
		t.Errorf("%d entries from the client, want %d: %v", len(entries), len(wants), entries)
	}
	for _, w := range wants {
		var found map[string]any
		for _, e := range entries {
			m := e.(map[string]any)
			if m["service"] == w.service && m["method"] == w.method && m["actor"] == w.actor && m["result"] == w.result {
				found = m
			}
		}
		if found == nil {
			t.Errorf("no entry for %+v", w)
			continue
		}
		var fields []string
		for _, f := range found["fields"].([]any) {
			fields = append(fields, f.(string))
		}
		slices.Sort(fields)
		if found["kind"] != w.kind || found["resource"] != w.resource || !slices.Equal(fields, w.fields) ||
			found["clientAddress"] != "203.0.113.7, 127.0.0.1" || found["requestId"] == "" || found["peer"] == "" {
			t.Errorf("entry %v, want %+v from 203.0.113.7", found, w)
		}
		if w.method == "UpdateCustomer" && w.actor == "mia" && found["requestId"] != "audit-update-1" {
			t.Errorf("update's request id: %v", found["requestId"])
		}
		if w.method == "CreateCustomer" && found["clientRequestId"] != "audit-create" {
			t.Errorf("create's request_id: %v", found["clientRequestId"])
		}
		if roles := found["roles"].([]any); len(roles) != 1 || roles[0] == "" {
			t.Errorf("roles: %v", roles)
		}
	}

	// Filters narrow, newest first, in pages.
	page := admin.do("GET", "/v1/auditEntries?pageSize=1&filter="+urlQuery(`actor = "mia" AND method = "UpdateCustomer"`), nil)
	expect(t, page, http.StatusOK)
	if list := page.body["auditEntries"].([]any); len(list) != 1 || page.body["nextPageToken"] != "" {
		t.Errorf("mia's updates: %s", page.raw)
	}
	newest := admin.do("GET", "/v1/auditEntries?pageSize=2&filter="+filter, nil)
	if list := newest.body["auditEntries"].([]any); len(list) != 2 || list[0].(map[string]any)["method"] != "CreateSegment" || newest.body["nextPageToken"] == "" {
		t.Errorf("newest first: %s", newest.raw)
	}

	// The values set never reach the trail, in any column.
	all := admin.do("GET", "/v1/auditEntries?pageSize=1000", nil)
	conn := connect(t, db)
	for _, needle := range []string{secretEmail, secretPhone, "13900001111"} {
		if strings.Contains(all.raw, needle) {
			t.Errorf("the trail shows %q", needle)
		}
		var n int
		if err := conn.QueryRow(context.Background(), `SELECT count(*) FROM audit.entries e WHERE e::text LIKE '%' || $1 || '%'`, needle).Scan(&n); err != nil || n != 0 {
			t.Errorf("%d audit rows hold %q (%v)", n, needle, err)
		}
	}
}
