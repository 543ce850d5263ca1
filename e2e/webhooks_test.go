package e2e_test

import (
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/kehu-crm/kehu/e2e"
	"github.com/kehu-crm/kehu/pkg/auth"
	"github.com/kehu-crm/kehu/pkg/testdb"
	"github.com/kehu-crm/kehu/pkg/testkit"
	analyticsmigrations "github.com/kehu-crm/kehu/services/analytics/migrations"
	customermigrations "github.com/kehu-crm/kehu/services/customer/migrations"
	interactionmigrations "github.com/kehu-crm/kehu/services/interaction/migrations"
	servicedeskmigrations "github.com/kehu-crm/kehu/services/servicedesk/migrations"
)

// TestRESTWebhooks: an admin subscribes an endpoint over REST to the
// events of every service (a customer's, its interaction's, its ticket's);
// the endpoint verifies each signature, is down for a while, and gets
// every event, also across a restart of the whole suite while deliveries
// wait. The delivery log and a ping are REST too;
// only admins may touch any of it.
func TestRESTWebhooks(t *testing.T) {
	db := testdb.New(t, customermigrations.All, interactionmigrations.All, servicedeskmigrations.All, analyticsmigrations.All)
	opts := e2e.Options{DatabaseURL: db}
	s := e2e.Start(t, opts)
	admin := client{t, s.BaseURL, s.Token(t, "root", auth.RoleAdmin)}
	mgr := client{t, s.BaseURL, s.Token(t, "mia", auth.RoleManager)}
	r := testkit.NewWebhookReceiver(t)
	r.Answer(func(string, int) int { return http.StatusServiceUnavailable })

	expect(t, mgr.do("POST", "/v1/webhooks", map[string]any{"targetUri": r.URL, "eventTypes": []string{"*"}}), http.StatusForbidden)
	bad := admin.do("POST", "/v1/webhooks", map[string]any{"targetUri": "ftp://example.com", "eventTypes": []string{"customer.*"}})
	expect(t, bad, http.StatusBadRequest)
	if v := bad.violations(); len(v) != 1 || v[0] != "webhook.target_uri" {
		t.Fatalf("violations %v: %s", v, bad.raw)
	}
	hook := admin.do("POST", "/v1/webhooks?webhookId=erp", map[string]any{
		"displayName": "ERP", "targetUri": r.URL + "/kehu", "eventTypes": []string{"customer.created", "interaction.*", "ticket.*"},
	})
	expect(t, hook, http.StatusOK)
	secret, _ := hook.body["secret"].(string)
	if !strings.HasPrefix(secret, "whsec_") || hook.body["active"] != true || hook.body["name"] != "webhooks/erp" {
		t.Fatalf("created: %s", hook.raw)
	}
	r.Trust(secret)
	if got := admin.do("GET", "/v1/webhooks/erp", nil); got.body["secret"] != "" {
		t.Fatalf("the secret is shown again: %s", got.raw)
	}

	c := mgr.do("POST", "/v1/customers", map[string]any{"displayName": "李娜"})
	expect(t, c, http.StatusOK)
	name := c.body["name"].(string)
	expect(t, mgr.do("POST", "/v1/"+name+"/interactions", map[string]any{
		"channel": "CHANNEL_PHONE", "kind": "INTERACTION_KIND_CONTACT", "subject": "询价", "touchpoint": "touchpoints/hotline",
	}), http.StatusOK)
	expect(t, mgr.do("POST", "/v1/tickets", map[string]any{
		"customer": name, "type": "TICKET_TYPE_INQUIRY", "channel": "CHANNEL_HOTLINE", "subject": "发票",
	}), http.StatusOK)

	// While the endpoint is down every event waits in the log; then the
	// suite restarts.
	for deadline := time.Now().Add(20 * time.Second); ; time.Sleep(50 * time.Millisecond) {
		log := admin.do("GET", "/v1/webhooks/erp/deliveries", nil)
		expect(t, log, http.StatusOK)
		if list, _ := log.body["deliveries"].([]any); len(list) == 3 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("deliveries queued: %s", log.raw)
		}
	}
	s.Stop()
	s = e2e.Start(t, opts)
	admin = client{t, s.BaseURL, s.Token(t, "root", auth.RoleAdmin)}
	r.Answer(func(string, int) int { return http.StatusOK })
	got := r.WaitFor(t, "the customer's events", 3)
	types := make([]string, len(got))
	for i, g := range got {
		types[i] = strings.Fields(g)[0]
	}
	// One event of each service's stream (their relative order is the
	// order their followers queued them in).
	slices.Sort(types)
	if !slices.Equal(types, []string{"customer.created", "interaction.created", "ticket.created"}) {
		t.Errorf("events taken: %v", got)
	}

	// The receiver has the last event before the sender records its answer.
	testkit.Eventually(t, "3 deliveries logged as delivered", func() bool {
		log := admin.do("GET", "/v1/webhooks/erp/deliveries?filter="+urlQuery("state = DELIVERED"), nil)
		expect(t, log, http.StatusOK)
		list, _ := log.body["deliveries"].([]any)
		return len(list) == 3
	})
	ping := admin.do("POST", "/v1/webhooks/erp:ping", map[string]any{})
	expect(t, ping, http.StatusOK)
	if ping.body["state"] != "STATE_DELIVERED" || ping.body["eventType"] != "webhook.ping" {
		t.Errorf("ping: %s", ping.raw)
	}
}
