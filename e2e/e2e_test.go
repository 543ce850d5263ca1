package e2e_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"google.golang.org/grpc/metadata"

	"github.com/kehu-crm/kehu/e2e"
	customerv1 "github.com/kehu-crm/kehu/pkg/api/kehu/customer/v1"
	"github.com/kehu-crm/kehu/pkg/auth"
)

// client is a tiny REST client for the tests.
type client struct {
	t     *testing.T
	base  string
	token string
}

type response struct {
	code   int
	header http.Header
	body   map[string]any
	raw    string
}

func (c client) do(method, path string, body any, headers ...string) response {
	c.t.Helper()
	var rd io.Reader
	switch b := body.(type) {
	case nil:
	case string:
		rd = strings.NewReader(b)
	default:
		js, err := json.Marshal(b)
		if err != nil {
			c.t.Fatal(err)
		}
		rd = bytes.NewReader(js)
	}
	req, err := http.NewRequest(method, c.base+path, rd)
	if err != nil {
		c.t.Fatal(err)
	}
	if c.token != "" {
		req.Header.Set("Authorization", "Bearer "+c.token)
	}
	req.Header.Set("Content-Type", "application/json")
	for i := 0; i+1 < len(headers); i += 2 {
		req.Header.Set(headers[i], headers[i+1])
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		c.t.Fatal(err)
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	r := response{code: resp.StatusCode, header: resp.Header, raw: string(raw)}
	_ = json.Unmarshal(raw, &r.body)
	return r
}

// errorReason returns the ErrorInfo reason of a google.rpc.Status body.
func (r response) errorReason() string {
	details, _ := r.body["details"].([]any)
	for _, d := range details {
		m, _ := d.(map[string]any)
		if m["@type"] == "type.googleapis.com/google.rpc.ErrorInfo" {
			s, _ := m["reason"].(string)
			return s
		}
	}
	return ""
}

// violations returns the BadRequest field names of an error body.
func (r response) violations() []string {
	var out []string
	details, _ := r.body["details"].([]any)
	for _, d := range details {
		m, _ := d.(map[string]any)
		if m["@type"] == "type.googleapis.com/google.rpc.BadRequest" {
			vs, _ := m["fieldViolations"].([]any)
			for _, v := range vs {
				out = append(out, v.(map[string]any)["field"].(string))
			}
		}
	}
	return out
}

func expect(t *testing.T, r response, code int) {
	t.Helper()
	if r.code != code {
		t.Fatalf("HTTP %d, want %d: %s", r.code, code, r.raw)
	}
}

func TestRESTCustomerLifecycle(t *testing.T) {
	s := e2e.Start(t, e2e.Options{})
	mgr := client{t, s.BaseURL, s.Token(t, "mia", auth.RoleManager)}

	// Create, idempotently: the same requestId twice yields one customer.
	body := map[string]any{
		"displayName": "Li Na", "emails": []string{"Li.Na@Example.com"}, "phones": []string{"138 1234 5678"},
		"company": "Hangzhou Tea Co.", "source": "SOURCE_CHANNEL_WEBSITE", "tags": []string{"vip"},
	}
	created := mgr.do("POST", "/v1/customers?requestId=req-1", body)
	expect(t, created, http.StatusOK)
	again := mgr.do("POST", "/v1/customers?requestId=req-1", body)
	expect(t, again, http.StatusOK)
	name, _ := created.body["name"].(string)
	if !strings.HasPrefix(name, "customers/") || again.body["name"] != name {
		t.Fatalf("idempotent create: %v vs %v", created.body["name"], again.body["name"])
	}
	if got := created.body["phones"].([]any)[0]; got != "+8613812345678" {
		t.Errorf("phone not normalised to E.164: %v", got)
	}
	if got := created.body["emails"].([]any)[0]; got != "li.na@example.com" {
		t.Errorf("email not normalised: %v", got)
	}
	// Stable JSON: unset fields are present, enums by name.
	if _, ok := created.body["valueTier"]; !ok || created.body["lifecycleStage"] != "LIFECYCLE_STAGE_PROSPECT" {
		t.Errorf("unstable JSON shape: %s", created.raw)
	}

	// Same e-mail again without the flag: 409 naming the existing customer.
	dup := mgr.do("POST", "/v1/customers", map[string]any{"displayName": "Nina Li", "emails": []string{"li.na@example.com"}})
	expect(t, dup, http.StatusConflict)
	if dup.errorReason() != "DUPLICATE_CUSTOMER" || !strings.Contains(dup.raw, name) {
		t.Fatalf("duplicate: %s", dup.raw)
	}

	// Read with ETag, update with a stale If-Match (409 ABORTED), then the
	// current one.
	got := mgr.do("GET", "/v1/"+name, nil)
	expect(t, got, http.StatusOK)
	etag := got.header.Get("ETag")
	if etag == "" {
		t.Fatal("no ETag header on GET")
	}
	stale := mgr.do("PATCH", "/v1/"+name+"?updateMask=title", map[string]any{"title": "Buyer"}, "If-Match", `"999"`)
	expect(t, stale, http.StatusConflict)
	if stale.errorReason() != "ETAG_MISMATCH" {
		t.Fatalf("stale etag: %s", stale.raw)
	}
	updated := mgr.do("PATCH", "/v1/"+name+"?updateMask=title", map[string]any{"title": "Buyer"}, "If-Match", etag)
	expect(t, updated, http.StatusOK)
	if updated.body["title"] != "Buyer" || updated.header.Get("ETag") == etag {
		t.Fatalf("update: %s (etag %s)", updated.raw, updated.header.Get("ETag"))
	}
	// Output-only fields in the mask are refused, naming the mask.
	badMask := mgr.do("PATCH", "/v1/"+name+"?updateMask=createTime", map[string]any{})
	expect(t, badMask, http.StatusBadRequest)
	if v := badMask.violations(); len(v) == 0 || v[0] != "update_mask" {
		t.Fatalf("bad mask violations: %v (%s)", v, badMask.raw)
	}

	// Find it by filter and by search.
	list := mgr.do("GET", `/v1/customers?filter=`+urlQuery(`tags:"vip" AND lifecycle_stage = PROSPECT`), nil)
	expect(t, list, http.StatusOK)
	if n := len(list.body["customers"].([]any)); n != 1 {
		t.Fatalf("filter found %d: %s", n, list.raw)
	}
	search := mgr.do("GET", "/v1/customers:search?query=tea", nil)
	expect(t, search, http.StatusOK)
	if n := len(search.body["customers"].([]any)); n != 1 {
		t.Fatalf("search found %d: %s", n, search.raw)
	}
	badFilter := mgr.do("GET", "/v1/customers?filter="+urlQuery(`shoe_size > 3`), nil)
	expect(t, badFilter, http.StatusBadRequest)
	if !strings.Contains(badFilter.raw, "shoe_size") {
		t.Fatalf("unknown filter field not named: %s", badFilter.raw)
	}

	// Lifecycle and points through custom methods.
	tr := mgr.do("POST", "/v1/"+name+":transitionLifecycleStage", map[string]any{"stage": "LIFECYCLE_STAGE_FIRST_PURCHASE", "reason": "order #1001"})
	expect(t, tr, http.StatusOK)
	pts := mgr.do("POST", "/v1/"+name+":adjustPoints", map[string]any{"delta": 1200, "reason": "order #1001", "requestId": "pts-1001"})
	expect(t, pts, http.StatusOK)
	if c := pts.body["customer"].(map[string]any); c["membershipTier"] != "MEMBERSHIP_TIER_SILVER" || c["loyaltyPoints"] != "1200" {
		t.Fatalf("points: %s", pts.raw)
	}
	hist := mgr.do("GET", "/v1/"+name+"/lifecycleTransitions", nil)
	expect(t, hist, http.StatusOK)
	if n := len(hist.body["lifecycleTransitions"].([]any)); n != 1 {
		t.Fatalf("history: %s", hist.raw)
	}

	// Soft delete hides it from lists, undelete brings it back.
	expect(t, mgr.do("DELETE", "/v1/"+name, nil), http.StatusOK)
	if l := mgr.do("GET", "/v1/customers", nil); len(l.body["customers"].([]any)) != 0 {
		t.Fatalf("deleted customer listed: %s", l.raw)
	}
	expect(t, mgr.do("POST", "/v1/"+name+":undelete", map[string]any{}), http.StatusOK)
	if l := mgr.do("GET", "/v1/customers", nil); len(l.body["customers"].([]any)) != 1 {
		t.Fatalf("undeleted customer not listed: %s", l.raw)
	}
}

func urlQuery(s string) string {
	return strings.NewReplacer(" ", "%20", `"`, "%22", ":", "%3A", "=", "%3D", ">", "%3E").Replace(s)
}

func TestRESTErrorsAndAccess(t *testing.T) {
	s := e2e.Start(t, e2e.Options{MaxBodyBytes: 2048})
	mgr := client{t, s.BaseURL, s.Token(t, "mia", auth.RoleManager)}
	created := mgr.do("POST", "/v1/customers", map[string]any{"displayName": "Wang Fang", "emails": []string{"wang.fang@example.cn"}, "phones": []string{"+86 137 5555 0101"}, "birthday": "1990-11-02"})
	expect(t, created, http.StatusOK)
	name := created.body["name"].(string)

	cases := []struct {
		name   string
		c      client
		method string
		path   string
		body   any
		code   int
		want   string
	}{
		{"no token", client{t, s.BaseURL, ""}, "GET", "/v1/customers", nil, 401, "bearer"},
		{"forged token", client{t, s.BaseURL, s.Token(t, "mia", auth.RoleManager) + "x"}, "GET", "/v1/customers", nil, 401, "signature"},
		{"wrong role", client{t, s.BaseURL, s.Token(t, "vic", auth.RoleViewer)}, "POST", "/v1/customers", map[string]any{"displayName": "X"}, 403, "may not call"},
		{"purge needs admin", mgr, "POST", "/v1/" + name + ":purge", map[string]any{}, 403, "PurgeCustomer"},
		{"bad email", mgr, "POST", "/v1/customers", map[string]any{"displayName": "X", "emails": []string{"not-an-email"}}, 400, "customer.emails[0]"},
		{"empty name", mgr, "POST", "/v1/customers", map[string]any{"displayName": ""}, 400, "customer.display_name"},
		{"unknown enum", mgr, "POST", "/v1/customers", `{"displayName":"X","source":"SOURCE_CHANNEL_CARRIER_PIGEON"}`, 400, "SOURCE_CHANNEL_CARRIER_PIGEON"},
		{"malformed json", mgr, "POST", "/v1/customers", `{"displayName":`, 400, ""},
		{"negative page size", mgr, "GET", "/v1/customers?pageSize=-1", nil, 400, "page_size"},
		{"bad page token", mgr, "GET", "/v1/customers?pageToken=garbage", nil, 400, "page_token"},
		{"bad name", mgr, "GET", "/v1/customers/not-a-uuid", nil, 400, "name"},
		{"missing", mgr, "GET", "/v1/customers/01a203ab-cb67-7a27-bac7-2d35cd3497e2", nil, 404, "not found"},
		{"no route", mgr, "GET", "/v1/elephants", nil, 404, "no route"},
		{"too large", mgr, "POST", "/v1/customers", map[string]any{"displayName": strings.Repeat("x", 4096)}, 413, "limit"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			c.c.t = t
			r := c.c.do(c.method, c.path, c.body)
			if r.code != c.code {
				t.Fatalf("HTTP %d, want %d: %s", r.code, c.code, r.raw)
			}
			if _, ok := r.body["code"]; !ok {
				t.Fatalf("error body is not a google.rpc.Status: %s", r.raw)
			}
			if !strings.Contains(r.raw, c.want) {
				t.Fatalf("error does not mention %q: %s", c.want, r.raw)
			}
		})
	}

	// Nothing was written by the rejected requests.
	if l := mgr.do("GET", "/v1/customers?showDeleted=true", nil); len(l.body["customers"].([]any)) != 1 {
		t.Fatalf("rejected requests wrote customers: %s", l.raw)
	}

	// Viewers see the customer, without personal data.
	viewer := client{t, s.BaseURL, s.Token(t, "vic", auth.RoleViewer)}
	v := viewer.do("GET", "/v1/"+name, nil)
	expect(t, v, http.StatusOK)
	if strings.Contains(v.raw, "wang.fang@example.cn") || strings.Contains(v.raw, "1990-11-02") || strings.Contains(v.raw, "55550101") {
		t.Fatalf("viewer sees PII: %s", v.raw)
	}

	// An agent cannot see another agent's customer: it looks absent.
	mgr.do("POST", "/v1/"+name+":assignAccountManager", map[string]any{"accountManager": "bob"})
	eve := client{t, s.BaseURL, s.Token(t, "eve", auth.RoleAgent)}
	expect(t, eve.do("GET", "/v1/"+name, nil), http.StatusNotFound)
	expect(t, eve.do("PATCH", "/v1/"+name+"?updateMask=title", map[string]any{"title": "x"}), http.StatusNotFound)
	bob := client{t, s.BaseURL, s.Token(t, "bob", auth.RoleAgent)}
	expect(t, bob.do("PATCH", "/v1/"+name+"?updateMask=title", map[string]any{"title": "Owner"}), http.StatusOK)

	// The request id is echoed back for correlation.
	r := mgr.do("GET", "/v1/"+name, nil, "X-Request-Id", "trace-abc-123")
	if r.header.Get("X-Request-Id") != "trace-abc-123" {
		t.Fatalf("X-Request-Id not echoed: %v", r.header)
	}
}

func TestDocsAndCORS(t *testing.T) {
	s := e2e.Start(t, e2e.Options{CORSOrigins: "https://app.example.com"})
	anon := client{t, s.BaseURL, ""}
	spec := anon.do("GET", "/openapi.json", nil)
	expect(t, spec, http.StatusOK)
	paths, _ := spec.body["paths"].(map[string]any)
	if _, ok := paths["/v1/customers"]; !ok {
		t.Fatalf("OpenAPI spec lacks /v1/customers: %.300s", spec.raw)
	}
	docs := anon.do("GET", "/docs", nil)
	expect(t, docs, http.StatusOK)
	if !strings.Contains(docs.raw, "/v1/customers") {
		t.Fatal("API page does not list /v1/customers")
	}

	req, _ := http.NewRequest(http.MethodOptions, s.BaseURL+"/v1/customers", nil)
	req.Header.Set("Origin", "https://app.example.com")
	req.Header.Set("Access-Control-Request-Method", "POST")
	req.Header.Set("Access-Control-Request-Headers", "authorization,content-type,if-match")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.Header.Get("Access-Control-Allow-Origin") != "https://app.example.com" {
		t.Fatalf("CORS preflight not allowed: %d %v", resp.StatusCode, resp.Header)
	}
	req.Header.Set("Origin", "https://evil.example.com")
	resp, err = http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.Header.Get("Access-Control-Allow-Origin") != "" {
		t.Fatal("CORS allowed an unlisted origin")
	}
}

// TestEventsAcrossTransports: a change made through REST reaches a gRPC
// event consumer, which can resume after the last sequence it saw.
func TestEventsAcrossTransports(t *testing.T) {
	s := e2e.Start(t, e2e.Options{})
	mgr := client{t, s.BaseURL, s.Token(t, "mia", auth.RoleManager)}
	rpc := customerv1.NewCustomerServiceClient(s.CustomerConn)
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	ctx = metadata.AppendToOutgoingContext(ctx, "authorization", "Bearer "+s.Token(t, "interaction", auth.RoleService))

	first := mgr.do("POST", "/v1/customers", map[string]any{"displayName": "Chen Jing"})
	expect(t, first, http.StatusOK)
	stream, err := rpc.StreamEvents(ctx, &customerv1.StreamEventsRequest{})
	if err != nil {
		t.Fatal(err)
	}
	ev, err := stream.Recv()
	if err != nil {
		t.Fatal(err)
	}
	if ev.GetEvent().GetType() != "customer.created" || ev.GetEvent().GetSubject() != first.body["name"] {
		t.Fatalf("first event = %v", ev.GetEvent())
	}
	var payload customerv1.CustomerChangedPayload
	if err := ev.GetEvent().GetPayload().UnmarshalTo(&payload); err != nil || payload.GetCustomer().GetDisplayName() != "Chen Jing" {
		t.Fatalf("payload = %v, %v", &payload, err)
	}
	// A change after the stream opened is pushed to it.
	second := mgr.do("POST", "/v1/customers", map[string]any{"displayName": "Zhao Min"})
	expect(t, second, http.StatusOK)
	ev2, err := stream.Recv()
	if err != nil {
		t.Fatal(err)
	}
	if ev2.GetEvent().GetSubject() != second.body["name"] || ev2.GetEvent().GetSequence() <= ev.GetEvent().GetSequence() {
		t.Fatalf("second event = %v", ev2.GetEvent())
	}
	cancel()

	// Resuming after the first event starts exactly at the second.
	ctx2, cancel2 := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel2()
	ctx2 = metadata.AppendToOutgoingContext(ctx2, "authorization", "Bearer "+s.Token(t, "interaction", auth.RoleService))
	resumed, err := rpc.StreamEvents(ctx2, &customerv1.StreamEventsRequest{AfterSequence: ev.GetEvent().GetSequence()})
	if err != nil {
		t.Fatal(err)
	}
	ev3, err := resumed.Recv()
	if err != nil {
		t.Fatal(err)
	}
	if ev3.GetEvent().GetId() != ev2.GetEvent().GetId() {
		t.Fatalf("resumed at %v, want %v", ev3.GetEvent(), ev2.GetEvent())
	}

	// Humans may not follow the event stream.
	mctx := metadata.AppendToOutgoingContext(context.Background(), "authorization", "Bearer "+s.Token(t, "mia", auth.RoleManager))
	st, err := rpc.StreamEvents(mctx, &customerv1.StreamEventsRequest{})
	if err == nil {
		_, err = st.Recv()
	}
	if err == nil || !strings.Contains(err.Error(), "PermissionDenied") {
		t.Fatalf("manager streamed events: %v", fmt.Sprint(err))
	}
}

// TestRESTInteractionsAndFollowUps drives the interaction service through
// the gateway: a contact, a purchase, a follow-up completed with a visit,
// and the customer's timeline.
func TestRESTInteractionsAndFollowUps(t *testing.T) {
	s := e2e.Start(t, e2e.Options{})
	agent := client{t, s.BaseURL, s.Token(t, "alice", auth.RoleAgent)}
	c := agent.do("POST", "/v1/customers", map[string]any{"displayName": "Li Na", "lifecycleStage": "LIFECYCLE_STAGE_FIRST_PURCHASE"})
	expect(t, c, http.StatusOK)
	name := c.body["name"].(string)

	call := agent.do("POST", "/v1/"+name+"/interactions?requestId=call-1", map[string]any{
		"channel": "CHANNEL_PHONE", "direction": "DIRECTION_INBOUND", "kind": "INTERACTION_KIND_CONTACT",
		"subject": "Delivery question", "summary": "Asked when the order arrives", "touchpoint": "touchpoints/hotline",
		"duration": "300s", "satisfaction": 4,
	})
	expect(t, call, http.StatusOK)
	if call.body["lifecycleStage"] != "LIFECYCLE_STAGE_FIRST_PURCHASE" || call.body["agent"] != "alice" {
		t.Fatalf("interaction: %s", call.raw)
	}
	buy := agent.do("POST", "/v1/"+name+"/interactions", map[string]any{
		"channel": "CHANNEL_WEBSITE", "kind": "INTERACTION_KIND_PURCHASE", "amount": map[string]any{"currencyCode": "CNY", "amount": "1299.90"},
		"orderReference": "SO-1001", "productCategories": []string{"tea"},
	})
	expect(t, buy, http.StatusOK)
	noAmount := agent.do("POST", "/v1/"+name+"/interactions", map[string]any{"channel": "CHANNEL_WEBSITE", "kind": "INTERACTION_KIND_PURCHASE"})
	expect(t, noAmount, http.StatusBadRequest)
	if v := noAmount.violations(); len(v) != 1 || v[0] != "interaction.amount" {
		t.Fatalf("violations %v: %s", v, noAmount.raw)
	}

	due := time.Now().Add(72 * time.Hour).UTC().Format(time.RFC3339)
	fu := agent.do("POST", "/v1/"+name+"/followUps", map[string]any{
		"purpose": "Check the tea arrived well", "channel": "CHANNEL_PHONE", "dueTime": due,
		"recurrence": map[string]any{"interval": 3, "unit": "UNIT_MONTH"},
	})
	expect(t, fu, http.StatusOK)
	agenda := agent.do("GET", "/v1/customers/-/followUps?filter="+urlQuery(`assignee = "alice" AND state = PLANNED`), nil)
	expect(t, agenda, http.StatusOK)
	if n := len(agenda.body["followUps"].([]any)); n != 1 {
		t.Fatalf("agenda: %s", agenda.raw)
	}
	done := agent.do("POST", "/v1/"+fu.body["name"].(string)+":complete", map[string]any{
		"newInteraction": map[string]any{"summary": "Arrived, customer happy", "satisfaction": 5},
	}, "If-Match", fu.header.Get("ETag"))
	expect(t, done, http.StatusOK)
	if done.body["followUp"].(map[string]any)["state"] != "STATE_COMPLETED" || done.body["nextFollowUp"] == nil {
		t.Fatalf("complete: %s", done.raw)
	}

	timeline := agent.do("GET", "/v1/"+name+"/interactions", nil)
	expect(t, timeline, http.StatusOK)
	items := timeline.body["interactions"].([]any)
	if len(items) != 3 || items[0].(map[string]any)["kind"] != "INTERACTION_KIND_FOLLOW_UP_VISIT" {
		t.Fatalf("timeline: %s", timeline.raw)
	}
	purchases := agent.do("GET", "/v1/customers/-/interactions?filter="+urlQuery(`kind = PURCHASE AND amount > 1000`), nil)
	expect(t, purchases, http.StatusOK)
	if n := len(purchases.body["interactions"].([]any)); n != 1 {
		t.Fatalf("purchases: %s", purchases.raw)
	}
	tps := agent.do("GET", "/v1/touchpoints", nil)
	expect(t, tps, http.StatusOK)
	if n := len(tps.body["touchpoints"].([]any)); n < 10 {
		t.Fatalf("touchpoints: %s", tps.raw)
	}
	badRule := client{t, s.BaseURL, s.Token(t, "mia", auth.RoleManager)}.do("POST", "/v1/careRules", map[string]any{
		"displayName": "Bad", "occasion": "OCCASION_FIXED_DATE", "dates": []string{"02-30"}, "channel": "CHANNEL_SMS",
	})
	expect(t, badRule, http.StatusBadRequest)
	if !strings.Contains(badRule.raw, "care_rule.dates[0]") {
		t.Fatalf("care rule error: %s", badRule.raw)
	}
}
