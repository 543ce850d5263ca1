package app

import (
	"context"
	"fmt"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"google.golang.org/grpc/codes"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/fieldmaskpb"

	analyticsv1 "github.com/kehu-crm/kehu/pkg/api/kehu/analytics/v1"
	customerv1 "github.com/kehu-crm/kehu/pkg/api/kehu/customer/v1"
	webhookv1 "github.com/kehu-crm/kehu/pkg/api/kehu/webhook/v1"
	"github.com/kehu-crm/kehu/pkg/auth"
	"github.com/kehu-crm/kehu/pkg/testkit"
)

func webhooks(t *testing.T, e *env) webhookv1.WebhookServiceClient {
	return webhookv1.NewWebhookServiceClient(testkit.Dial(t, e.app.GRPCAddr()))
}

func createWebhook(t *testing.T, c webhookv1.WebhookServiceClient, target string, types ...string) *webhookv1.Webhook {
	t.Helper()
	resp, err := c.CreateWebhook(testkit.As(t, "root", auth.RoleAdmin), &webhookv1.CreateWebhookRequest{
		Webhook: &webhookv1.Webhook{DisplayName: "ERP", TargetUri: target, EventTypes: types}})
	if err != nil {
		t.Fatal(err)
	}
	return resp.GetWebhook()
}

// TestWebhookDeliversSignedEventsInOrder: customer events reach an
// endpoint signed, each customer's in order, through failures that are
// retried; the log shows every attempt; a ping and a redelivery arrive
// signed too, the redelivery under the same webhook-id. The delivery log
// keeps the bodies sealed: the receiver gets a customer's e-mail and
// phone, the table never holds them in plaintext.
func TestWebhookDeliversSignedEventsInOrder(t *testing.T) {
	e := start(t)
	c := webhooks(t, e)
	r := testkit.NewWebhookReceiver(t)
	// Every update's first attempt fails: retries must not reorder.
	r.Answer(func(eventType string, attempt int) int {
		if attempt == 1 && eventType == "customer.updated" {
			return http.StatusServiceUnavailable
		}
		return http.StatusOK
	})
	w := createWebhook(t, c, r.URL+"/hooks", "customer.*")
	if !strings.HasPrefix(w.GetSecret(), "whsec_") || !w.GetActive() {
		t.Fatalf("created webhook: %v", w)
	}
	r.Trust(w.GetSecret())

	mgr := testkit.As(t, "mia", auth.RoleManager)
	const email, phone = "hook.reader@example.cn", "13800138000"
	var names []string
	for i := range 3 {
		c := &customerv1.Customer{DisplayName: fmt.Sprintf("客户 %d", i)}
		if i == 1 {
			c.Emails, c.Phones = []string{email}, []string{phone}
		}
		cr, err := e.customers.CreateCustomer(mgr, &customerv1.CreateCustomerRequest{Customer: c})
		if err != nil {
			t.Fatal(err)
		}
		names = append(names, cr.GetCustomer().GetName())
		for _, title := range []string{"经理", "总监"} {
			if _, err := e.customers.UpdateCustomer(mgr, &customerv1.UpdateCustomerRequest{Customer: &customerv1.Customer{Name: cr.GetCustomer().GetName(), Title: title},
				UpdateMask: &fieldmaskpb.FieldMask{Paths: []string{"title"}}}); err != nil {
				t.Fatal(err)
			}
		}
	}
	got := r.WaitFor(t, "customer events", 9)
	for _, name := range names {
		var mine []string
		for _, g := range got {
			if strings.HasSuffix(g, name) {
				mine = append(mine, strings.Fields(g)[0])
			}
		}
		if want := []string{"customer.created", "customer.updated", "customer.updated"}; !slices.Equal(mine, want) {
			t.Errorf("%s's events in arrival order: %v, want %v", name, mine, want)
		}
	}
	taken, _ := r.Taken()
	for i := 1; i < len(taken); i++ {
		prev, _ := strconv.ParseInt(fmt.Sprint(taken[i-1]["sequence"]), 10, 64)
		next, _ := strconv.ParseInt(fmt.Sprint(taken[i]["sequence"]), 10, 64)
		if next <= prev {
			t.Errorf("event %d (sequence %d) arrived after sequence %d: %v", i, next, prev, got)
		}
	}
	data, _ := taken[0]["data"].(map[string]any)
	if data["@type"] != "type.googleapis.com/kehu.customer.v1.CustomerChangedPayload" {
		t.Errorf("event data: %v", data)
	}
	received := fmt.Sprint(taken)
	if !strings.Contains(received, email) || !strings.Contains(received, phone) {
		t.Fatalf("the receiver got no event with the e-mail and phone (the check below would prove nothing): %s", received)
	}
	noPlaintextDeliveries(t, e, 9, email, phone)
	// A data-key rotation (kehuctl rotate-pii-keys): the bodies sealed
	// before still open, in the log and for the redelivery below.
	if r, err := RotateKeys(context.Background(), testkit.ServiceConfig(e.dbURL), true); err != nil || r.DataKey < 2 {
		t.Fatalf("rotating the data key: %v, %v", r, err)
	}

	admin := testkit.As(t, "root", auth.RoleAdmin)
	// The receiver has the last event before the sender records its answer.
	var log *webhookv1.ListDeliveriesResponse
	testkit.Eventually(t, "9 deliveries logged as delivered", func() bool {
		var err error
		log, err = c.ListDeliveries(admin, &webhookv1.ListDeliveriesRequest{Parent: w.GetName(), Filter: "state = DELIVERED"})
		if err != nil {
			t.Fatal(err)
		}
		return len(log.GetDeliveries()) == 9
	})
	if listed := fmt.Sprint(log.GetDeliveries()); !strings.Contains(listed, email) {
		t.Errorf("the delivery log does not show the bodies as delivered: %s", listed)
	}
	for _, d := range log.GetDeliveries() {
		attempts := d.GetAttempts()
		last := attempts[len(attempts)-1]
		if last.GetStatusCode() != 200 || last.GetResponseExcerpt() != "answered 200" || d.GetBody() == "" {
			t.Errorf("delivery %s: %v", d.GetName(), d)
		}
		if d.GetEventType() == "customer.updated" && (len(attempts) != 2 || attempts[0].GetStatusCode() != 503) {
			t.Errorf("delivery %s: want a 503 then a 200, got %v", d.GetName(), attempts)
		}
	}

	r.Answer(func(string, int) int { return http.StatusOK })
	ping, err := c.PingWebhook(admin, &webhookv1.PingWebhookRequest{Name: w.GetName()})
	if err != nil {
		t.Fatal(err)
	}
	if d := ping.GetDelivery(); d.GetState() != webhookv1.Delivery_STATE_DELIVERED || d.GetEventType() != "webhook.ping" || d.GetAttempts()[0].GetStatusCode() != 200 {
		t.Errorf("ping: %v", ping)
	}
	first := log.GetDeliveries()[len(log.GetDeliveries())-1]
	again, err := c.RedeliverEvent(admin, &webhookv1.RedeliverEventRequest{Delivery: first.GetName()})
	if err != nil {
		t.Fatal(err)
	}
	if !again.GetDelivery().GetRedelivery() || again.GetDelivery().GetEventId() != first.GetEventId() {
		t.Errorf("redelivery: %v", again)
	}
	got = r.WaitFor(t, "the redelivery", 11)
	_, ids := r.Taken()
	lastID := ids[len(ids)-1]
	if lastID != first.GetEventId() {
		t.Errorf("redelivered webhook-id %s, want %s (%v)", lastID, first.GetEventId(), got)
	}

	// A rotated secret: the receiver still trusts only the old one, which
	// goes on signing beside the new one for the grace period.
	rotated, err := c.UpdateWebhook(admin, &webhookv1.UpdateWebhookRequest{Webhook: &webhookv1.Webhook{Name: w.GetName()},
		UpdateMask: &fieldmaskpb.FieldMask{Paths: []string{"secret"}}})
	if err != nil || rotated.GetWebhook().GetSecret() == w.GetSecret() {
		t.Fatalf("rotation: %v, %v", rotated, err)
	}
	if _, err := e.customers.CreateCustomer(mgr, &customerv1.CreateCustomerRequest{Customer: &customerv1.Customer{DisplayName: "轮换之后"}}); err != nil {
		t.Fatal(err)
	}
	r.WaitFor(t, "an event signed after the rotation", 12)
}

// TestWebhookRequests: only admins manage webhooks, bad input is refused
// naming every field, and the secret is shown only on creation and
// rotation; the rotated-out secret still signs for the grace period.
func TestWebhookRequests(t *testing.T) {
	e := start(t, func(c *Config) { c.AllowPrivateTargets = false; c.Environment = "production" })
	c := webhooks(t, e)
	admin := testkit.As(t, "root", auth.RoleAdmin)
	_, err := c.CreateWebhook(testkit.As(t, "mia", auth.RoleManager), &webhookv1.CreateWebhookRequest{
		Webhook: &webhookv1.Webhook{TargetUri: "https://example.com/h", EventTypes: []string{"*"}}})
	testkit.WantCode(t, err, codes.PermissionDenied, "", "")

	for _, tc := range []struct {
		target, types, field string
	}{
		{"http://example.com/h", "*", "webhook.target_uri"},
		{"https://user:pw@example.com/h", "*", "webhook.target_uri"},
		{"https://127.0.0.1/h", "*", "webhook.target_uri"},
		{"https://[::1]:8443/h", "*", "webhook.target_uri"},
		{"https://10.1.2.3/h", "*", "webhook.target_uri"},
		{"https://169.254.169.254/latest/meta-data", "*", "webhook.target_uri"},
		{"https://localhost/h", "*", "webhook.target_uri"},
		{"ftp://example.com/h", "*", "webhook.target_uri"},
		{"https://example.com/h", "Customer Created", "webhook.event_types"},
		{"https://example.com/h", "", "webhook.event_types"},
	} {
		var types []string
		if tc.types != "" {
			types = []string{tc.types}
		}
		_, err := c.CreateWebhook(admin, &webhookv1.CreateWebhookRequest{Webhook: &webhookv1.Webhook{TargetUri: tc.target, EventTypes: types}})
		testkit.WantCode(t, err, codes.InvalidArgument, "", tc.field)
	}
	list, err := c.ListWebhooks(admin, &webhookv1.ListWebhooksRequest{})
	if err != nil || len(list.GetWebhooks()) != 0 {
		t.Fatalf("after refused creates: %v, %v", list, err)
	}

	created, err := c.CreateWebhook(admin, &webhookv1.CreateWebhookRequest{WebhookId: "erp",
		Webhook: &webhookv1.Webhook{TargetUri: "https://example.com/h", EventTypes: []string{"ticket.*", "customer.created"}}})
	if err != nil {
		t.Fatal(err)
	}
	_, err = c.CreateWebhook(admin, &webhookv1.CreateWebhookRequest{WebhookId: "erp",
		Webhook: &webhookv1.Webhook{TargetUri: "https://example.com/h", EventTypes: []string{"*"}}})
	testkit.WantCode(t, err, codes.AlreadyExists, "WEBHOOK_EXISTS", "")
	got, err := c.GetWebhook(admin, &webhookv1.GetWebhookRequest{Name: "webhooks/erp"})
	if err != nil || got.GetWebhook().GetSecret() != "" || got.GetWebhook().GetEtag() != created.GetWebhook().GetEtag() {
		t.Fatalf("get: %v, %v", got, err)
	}
	_, err = c.UpdateWebhook(admin, &webhookv1.UpdateWebhookRequest{Webhook: &webhookv1.Webhook{Name: "webhooks/erp", Etag: `"7"`},
		UpdateMask: &fieldmaskpb.FieldMask{Paths: []string{"display_name"}}})
	testkit.WantCode(t, err, codes.Aborted, "", "")
	rotated, err := c.UpdateWebhook(admin, &webhookv1.UpdateWebhookRequest{Webhook: &webhookv1.Webhook{Name: "webhooks/erp"},
		UpdateMask: &fieldmaskpb.FieldMask{Paths: []string{"secret"}}})
	if err != nil {
		t.Fatal(err)
	}
	if s := rotated.GetWebhook().GetSecret(); !strings.HasPrefix(s, "whsec_") || s == created.GetWebhook().GetSecret() {
		t.Fatalf("rotated secret %q", s)
	}
	_, err = c.DeleteWebhook(admin, &webhookv1.DeleteWebhookRequest{Name: "webhooks/erp", Etag: created.GetWebhook().GetEtag()})
	testkit.WantCode(t, err, codes.Aborted, "", "")
	if _, err := c.DeleteWebhook(admin, &webhookv1.DeleteWebhookRequest{Name: "webhooks/erp"}); err != nil {
		t.Fatal(err)
	}
	_, err = c.GetWebhook(admin, &webhookv1.GetWebhookRequest{Name: "webhooks/erp"})
	testkit.WantCode(t, err, codes.NotFound, "", "")
}

// TestWebhookTurnedOffWhenItKeepsFailing: deliveries that fail through
// their retry period count against the webhook; at the limit it is turned
// off with a webhook.disabled event, and no more events are queued for it
// until it is turned on again. 410 Gone turns it off at once.
func TestWebhookTurnedOffWhenItKeepsFailing(t *testing.T) {
	e := start(t, func(c *Config) { c.RetryPeriod = 200 * time.Millisecond })
	c := webhooks(t, e)
	admin := testkit.As(t, "root", auth.RoleAdmin)
	failing := testkit.NewWebhookReceiver(t)
	failing.Answer(func(string, int) int { return http.StatusInternalServerError })
	w := createWebhook(t, c, failing.URL, "customer.created")
	failing.Trust(w.GetSecret())
	gone := testkit.NewWebhookReceiver(t)
	gone.Answer(func(string, int) int { return http.StatusGone })
	g := createWebhook(t, c, gone.URL, "customer.created")
	gone.Trust(g.GetSecret())
	// An operator's monitor hears of it (an event that names no customer),
	// without learning the other webhooks' targets.
	monitor := testkit.NewWebhookReceiver(t)
	m := createWebhook(t, c, monitor.URL, "webhook.*")
	monitor.Trust(m.GetSecret())

	mgr := testkit.As(t, "mia", auth.RoleManager)
	for i := range 4 {
		if _, err := e.customers.CreateCustomer(mgr, &customerv1.CreateCustomerRequest{Customer: &customerv1.Customer{DisplayName: fmt.Sprintf("失败 %d", i)}}); err != nil {
			t.Fatal(err)
		}
	}
	deadline := time.Now().Add(20 * time.Second)
	for {
		a, err := c.GetWebhook(admin, &webhookv1.GetWebhookRequest{Name: w.GetName()})
		if err != nil {
			t.Fatal(err)
		}
		b, err := c.GetWebhook(admin, &webhookv1.GetWebhookRequest{Name: g.GetName()})
		if err != nil {
			t.Fatal(err)
		}
		if !a.GetWebhook().GetActive() && !b.GetWebhook().GetActive() {
			if a.GetWebhook().GetConsecutiveFailures() != 3 || !strings.Contains(a.GetWebhook().GetDisabledReason(), "3 deliveries in a row failed") ||
				!strings.Contains(b.GetWebhook().GetDisabledReason(), "410") {
				t.Fatalf("turned off: %v / %v", a.GetWebhook(), b.GetWebhook())
			}
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("still on: %v / %v", a.GetWebhook(), b.GetWebhook())
		}
		time.Sleep(50 * time.Millisecond)
	}
	// The fourth delivery waits (the webhook is off), in the log as pending.
	pending, err := c.ListDeliveries(admin, &webhookv1.ListDeliveriesRequest{Parent: w.GetName(), Filter: "state = PENDING"})
	if err != nil || len(pending.GetDeliveries()) != 1 {
		t.Fatalf("pending after turning off: %v, %v", pending, err)
	}

	events, err := e.analytics.StreamEvents(admin, &analyticsv1.StreamEventsRequest{})
	if err != nil {
		t.Fatal(err)
	}
	disabled := map[string]bool{}
	for len(disabled) < 2 {
		ev, err := events.Recv()
		if err != nil {
			t.Fatal(err)
		}
		if ev.GetEvent().GetType() == "webhook.disabled" {
			var p webhookv1.WebhookDisabledPayload
			if err := ev.GetEvent().GetPayload().UnmarshalTo(&p); err != nil || p.GetWebhook().GetSecret() != "" || p.GetWebhook().GetActive() {
				t.Fatalf("webhook.disabled payload: %v, %v", &p, err)
			}
			disabled[ev.GetEvent().GetSubject()] = true
		}
	}

	monitor.WaitFor(t, "the webhook.disabled notices", 2)
	taken, _ := monitor.Taken()
	for _, notice := range taken {
		if body := fmt.Sprint(notice); notice["type"] != "webhook.disabled" || strings.Contains(body, failing.URL) || strings.Contains(body, gone.URL) {
			t.Errorf("notice: %v", notice)
		}
	}

	// Turned on again, the waiting delivery goes out to a mended endpoint.
	failing.Answer(func(string, int) int { return http.StatusNoContent })
	on, err := c.UpdateWebhook(admin, &webhookv1.UpdateWebhookRequest{Webhook: &webhookv1.Webhook{Name: w.GetName(), Active: proto.Bool(true)},
		UpdateMask: &fieldmaskpb.FieldMask{Paths: []string{"active"}}})
	if err != nil || on.GetWebhook().GetDisabledReason() != "" || on.GetWebhook().GetConsecutiveFailures() != 0 {
		t.Fatalf("turned on: %v, %v", on, err)
	}
	failing.WaitFor(t, "the waiting delivery", 1)
}

// TestWebhookRestartLosesNothing: deliveries queued while the receiver is
// down survive the delivering replica's end; another replica delivers
// every event.
func TestWebhookRestartLosesNothing(t *testing.T) {
	e := start(t, func(c *Config) { c.RetryPeriod = time.Minute })
	c := webhooks(t, e)
	r := testkit.NewWebhookReceiver(t)
	r.Answer(func(string, int) int { return http.StatusBadGateway })
	w := createWebhook(t, c, r.URL, "customer.created")
	r.Trust(w.GetSecret())
	mgr := testkit.As(t, "mia", auth.RoleManager)
	for i := range 5 {
		if _, err := e.customers.CreateCustomer(mgr, &customerv1.CreateCustomerRequest{Customer: &customerv1.Customer{DisplayName: fmt.Sprintf("重启 %d", i)}}); err != nil {
			t.Fatal(err)
		}
	}
	admin := testkit.As(t, "root", auth.RoleAdmin)
	for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(20 * time.Millisecond) {
		log, err := c.ListDeliveries(admin, &webhookv1.ListDeliveriesRequest{Parent: w.GetName()})
		if err != nil {
			t.Fatal(err)
		}
		if len(log.GetDeliveries()) == 5 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("queued: %d of 5", len(log.GetDeliveries()))
		}
	}
	e.stopFirst()
	r.Answer(func(string, int) int { return http.StatusOK })
	e.replica(t)
	got := r.WaitFor(t, "every event after the restart", 5)
	if len(got) != 5 {
		t.Errorf("taken: %v", got)
	}
}

// TestWebhookDeliveriesErasedWithTheCustomer: a purge erases what the
// delivery log holds of the customer (bodies, answers) and closes their
// undelivered deliveries; the purge itself is delivered, without data.
func TestWebhookDeliveriesErasedWithTheCustomer(t *testing.T) {
	e := start(t, func(c *Config) { c.RetryPeriod = time.Hour })
	c := webhooks(t, e)
	r := testkit.NewWebhookReceiver(t)
	r.Answer(func(string, int) int { return http.StatusServiceUnavailable })
	w := createWebhook(t, c, r.URL, "customer.*")
	r.Trust(w.GetSecret())
	mgr := testkit.As(t, "mia", auth.RoleManager)
	cr, err := e.customers.CreateCustomer(mgr, &customerv1.CreateCustomerRequest{Customer: &customerv1.Customer{
		DisplayName: "王秘密", Emails: []string{"wang.secret@example.cn"}}})
	if err != nil {
		t.Fatal(err)
	}
	admin := testkit.As(t, "root", auth.RoleAdmin)
	if _, err := e.customers.PurgeCustomer(admin, &customerv1.PurgeCustomerRequest{Name: cr.GetCustomer().GetName()}); err != nil {
		t.Fatal(err)
	}
	var log []*webhookv1.Delivery
	for deadline := time.Now().Add(15 * time.Second); ; time.Sleep(20 * time.Millisecond) {
		resp, err := c.ListDeliveries(admin, &webhookv1.ListDeliveriesRequest{Parent: w.GetName(), Filter: `event_type = "customer.purged"`})
		if err != nil {
			t.Fatal(err)
		}
		if len(resp.GetDeliveries()) == 1 {
			all, err := c.ListDeliveries(admin, &webhookv1.ListDeliveriesRequest{Parent: w.GetName()})
			if err != nil {
				t.Fatal(err)
			}
			log = all.GetDeliveries()
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("the purge never reached the webhooks")
		}
	}
	for _, d := range log {
		if strings.Contains(d.GetBody(), "wang.secret") || strings.Contains(d.GetBody(), "王秘密") {
			t.Errorf("%s (%s) still holds the customer: %s", d.GetName(), d.GetEventType(), d.GetBody())
		}
		if d.GetEventType() == "customer.created" && d.GetState() != webhookv1.Delivery_STATE_ERASED {
			t.Errorf("%s: %v, want ERASED", d.GetName(), d.GetState())
		}
	}
	_, err = c.RedeliverEvent(admin, &webhookv1.RedeliverEventRequest{Delivery: log[len(log)-1].GetName()})
	testkit.WantCode(t, err, codes.FailedPrecondition, "DELIVERY_ERASED", "")

	r.Answer(func(string, int) int { return http.StatusOK })
	got := r.WaitFor(t, "the purge notice", 1)
	if !strings.HasPrefix(got[0], "customer.purged ") {
		t.Errorf("taken: %v (erased deliveries must not be sent)", got)
	}
}

// noPlaintextDeliveries fails unless the delivery log holds at least n
// bodies, none with any of needles in plaintext, nor any attempt's
// response.
func noPlaintextDeliveries(t *testing.T, e *env, n int, needles ...string) {
	t.Helper()
	db := e.readModel(t)
	var rows int
	if err := db.QueryRow(context.Background(), `SELECT count(*) FROM webhook_deliveries WHERE length(body) > 0`).Scan(&rows); err != nil || rows < n {
		t.Fatalf("delivery log: %d bodies (%v), want at least %d", rows, err, n)
	}
	for _, needle := range needles {
		var found int
		if err := db.QueryRow(context.Background(), `SELECT (SELECT count(*) FROM webhook_deliveries WHERE position(convert_to($1, 'UTF8') in body) > 0)
			+ (SELECT count(*) FROM webhook_attempts WHERE response_excerpt LIKE '%' || $1 || '%')`, needle).Scan(&found); err != nil {
			t.Fatal(err)
		}
		if found > 0 {
			t.Errorf("the delivery log holds %q in plaintext in %d rows", needle, found)
		}
	}
}
