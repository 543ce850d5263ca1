package e2e_test

import (
	"context"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/redis/go-redis/v9"

	"github.com/kehu-crm/kehu/e2e"
	"github.com/kehu-crm/kehu/pkg/auth"
	"github.com/kehu-crm/kehu/pkg/testdb"
	"github.com/kehu-crm/kehu/pkg/testkit"
	analyticsmigrations "github.com/kehu-crm/kehu/services/analytics/migrations"
	customermigrations "github.com/kehu-crm/kehu/services/customer/migrations"
	interactionmigrations "github.com/kehu-crm/kehu/services/interaction/migrations"
	servicedeskmigrations "github.com/kehu-crm/kehu/services/servicedesk/migrations"
)

// The erased customer's identifiers: distinctive enough that finding one
// anywhere after the purge can only be a leak. Each is searched for as
// written and, for text, case-insensitively.
const (
	erasedHan        = "司徒雪梅"
	erasedLatin      = "Xuemei Situ"
	erasedGiven      = "Xuemei" // alone: full-text indexes store single words
	erasedEmail      = "xuemei.situ.erasure@example.cn"
	erasedPhone      = "13800137421"
	erasedStreet     = "外滩路88号 Apt 7Z"
	erasedCompany    = "Situ Oolong Trading"
	erasedExternalID = "ERASE-EXT-7741"
	erasedWeChat     = "situ_xuemei_wx"
	erasedOrder      = "ORD-SITU-7741"
	erasedPublic     = "PUBLIC-NOTE-7741"
	erasedInternal   = "INTERNAL-NOTE-7741"
	erasedSurvey     = "SURVEY-NOTE-7741"
	erasedResolution = "RESOLUTION-NOTE-7741"
	erasedPoints     = "POINTS-NOTE-7741"
	erasedOldName    = "司徒小梅" // the name before a rename
	erasedOldEmail   = "xuemei.old.erasure@example.cn"
	erasedDuplicate  = "DUPLICATE-NOTE-7741"
	erasedEscalation = "ESCALATION-NOTE-7741"
)

var erasedIdentifiers = []string{
	erasedHan, erasedLatin, erasedGiven, erasedEmail, erasedPhone, erasedStreet, erasedCompany, erasedExternalID,
	erasedWeChat, erasedOrder, erasedPublic, erasedInternal, erasedSurvey, erasedResolution, erasedPoints,
	erasedOldName, erasedOldEmail, erasedDuplicate, erasedEscalation,
}

// TestErasure: a customer with a life in every service (profile, calls,
// purchases, a follow-up visit, a birthday greeting, points, a ticket with
// public and internal comments, an answered survey, segments and insights,
// cached reads) is purged; once every follower has applied the purge, no
// identifier of theirs is left in any column of any table of any schema,
// nor in any Redis key or value, and the purge itself is on record.
func TestErasure(t *testing.T) {
	db := testdb.New(t, customermigrations.All, interactionmigrations.All, servicedeskmigrations.All, analyticsmigrations.All)
	// A Redis database of its own, so the scan sees only this suite's keys.
	redisURL := ownRedisDatabase(t, 10)
	rdb := redisClient(t, redisURL)
	if err := rdb.FlushDB(context.Background()).Err(); err != nil {
		t.Fatal(err)
	}
	s := e2e.Start(t, e2e.Options{DatabaseURL: db, RedisURL: redisURL})
	mgr := client{t, s.BaseURL, s.Token(t, "mia", auth.RoleManager)}
	admin := client{t, s.BaseURL, s.Token(t, "root", auth.RoleAdmin)}
	// Two integrators receive every event: one takes them (its delivery
	// log keeps the bodies), one is down (they wait, with their attempts).
	var taker *testkit.WebhookReceiver
	for _, answer := range []int{http.StatusOK, http.StatusServiceUnavailable} {
		r := testkit.NewWebhookReceiver(t)
		r.Answer(func(string, int) int { return answer })
		hook := admin.do("POST", "/v1/webhooks", map[string]any{"targetUri": r.URL, "eventTypes": []string{"*"}})
		expect(t, hook, http.StatusOK)
		r.Trust(hook.body["secret"].(string))
		if answer == http.StatusOK {
			taker = r
		}
	}
	now := time.Now().In(shanghai(t))
	birthday := "1987-" + now.Format("01-02")
	identifiers := append(slices.Clone(erasedIdentifiers), birthday)

	// A neighbour who stays: the scan must still see their data, so the
	// search is known to look where the data is.
	other := mgr.do("POST", "/v1/customers", map[string]any{"displayName": "Neighbour Keeps-7741", "emails": []string{"keeps@example.cn"}})
	expect(t, other, http.StatusOK)

	c := mgr.do("POST", "/v1/customers?requestId=erasure-create-1", map[string]any{
		"displayName": erasedOldName + " " + erasedLatin, "kind": "KIND_PERSON",
		"emails": []string{erasedEmail}, "phones": []string{"138 0013 7421"},
		"company": erasedCompany, "title": "Buyer",
		"address":  map[string]any{"street": erasedStreet, "city": "上海", "postalCode": "200002", "countryCode": "CN"},
		"birthday": birthday, "source": "SOURCE_CHANNEL_REFERRAL", "accountManager": "alice",
		"tags": []string{"vip"}, "attributes": map[string]string{"wechat": erasedWeChat},
		"externalId": erasedExternalID, "marketingConsent": true,
		"needProfile": map[string]any{"emotional": true},
	})
	expect(t, c, http.StatusOK)
	customer := c.body["name"].(string)
	// Renamed: the old name is personal data too.
	expect(t, mgr.do("PATCH", "/v1/"+customer+"?updateMask=display_name", map[string]any{"displayName": erasedHan + " " + erasedLatin}), http.StatusOK)

	// A duplicate record of the same person, with a life of its own,
	// merged into the customer: the purge erases what was merged too.
	dup := mgr.do("POST", "/v1/customers?allowDuplicates=true", map[string]any{"displayName": erasedHan,
		"emails": []string{erasedOldEmail}, "phones": []string{"138 0013 7421"}, "accountManager": "alice"})
	expect(t, dup, http.StatusOK)
	duplicate := dup.body["name"].(string)
	expect(t, mgr.do("POST", "/v1/"+duplicate+"/interactions", map[string]any{
		"channel": "CHANNEL_EMAIL", "kind": "INTERACTION_KIND_NOTE", "subject": erasedDuplicate, "summary": "wrote from " + erasedOldEmail,
	}), http.StatusOK)
	dupTicket := mgr.do("POST", "/v1/tickets", map[string]any{"customer": duplicate, "type": "TICKET_TYPE_INQUIRY", "channel": "CHANNEL_EMAIL",
		"subject": erasedDuplicate + " invoice", "description": "for " + erasedOldEmail})
	expect(t, dupTicket, http.StatusOK)
	expect(t, mgr.do("POST", "/v1/"+dupTicket.body["name"].(string)+"/comments", map[string]any{"visibility": "VISIBILITY_INTERNAL",
		"body": erasedDuplicate + " same person as " + erasedLatin}), http.StatusOK)
	expect(t, mgr.do("POST", "/v1/"+duplicate+":adjustPoints", map[string]any{"delta": 80, "reason": erasedDuplicate, "requestId": "erasure-points-dup"}), http.StatusOK)
	waitFor(t, "analytics to follow the duplicate", func() bool {
		return mgr.do("GET", "/v1/"+duplicate+"/insights", nil).code == http.StatusOK
	})
	expect(t, mgr.do("POST", "/v1/customers:merge", map[string]any{"survivor": customer, "merged": []string{duplicate}}), http.StatusOK)

	// Interactions: a call whose notes name the customer, and purchases.
	expect(t, mgr.do("POST", "/v1/"+customer+"/interactions", map[string]any{
		"channel": "CHANNEL_PHONE", "kind": "INTERACTION_KIND_CONTACT", "direction": "DIRECTION_INBOUND",
		"subject": "Call with " + erasedLatin, "summary": erasedHan + " asked about oolong; call back on " + erasedPhone, "satisfaction": 4,
	}), http.StatusOK)
	for i, amount := range []string{"1800.00", "2400.00"} {
		expect(t, mgr.do("POST", "/v1/"+customer+"/interactions", map[string]any{
			"channel": "CHANNEL_WEBSITE", "kind": "INTERACTION_KIND_PURCHASE", "touchpoint": "touchpoints/online-store",
			"occurTime":      now.Add(time.Duration(i-2) * time.Minute).UTC().Format(time.RFC3339Nano),
			"amount":         map[string]any{"currencyCode": "CNY", "amount": amount},
			"orderReference": fmt.Sprintf("%s-%d", erasedOrder, i), "productCategories": []string{"oolong"},
		}), http.StatusOK)
	}
	// A follow-up visit, planned and logged.
	fu := mgr.do("POST", "/v1/"+customer+"/followUps", map[string]any{"purpose": "回访 " + erasedHan, "channel": "CHANNEL_PHONE",
		"assignee": "alice", "dueTime": now.Add(time.Hour).UTC().Format(time.RFC3339)})
	expect(t, fu, http.StatusOK)
	expect(t, mgr.do("POST", "/v1/"+fu.body["name"].(string)+":complete", map[string]any{"newInteraction": map[string]any{
		"channel": "CHANNEL_PHONE", "kind": "INTERACTION_KIND_CONTACT", "direction": "DIRECTION_OUTBOUND",
		"subject": "Follow-up with " + erasedLatin, "summary": "Spoke to " + erasedHan, "satisfaction": 5}}), http.StatusOK)
	// A birthday greeting: today is the customer's birthday.
	expect(t, mgr.do("POST", "/v1/careRules", map[string]any{"displayName": "Birthday", "occasion": "OCCASION_BIRTHDAY",
		"channel": "CHANNEL_SMS", "messageTemplate": "生日快乐, {{display_name}}!", "fallbackAssignee": "alice", "active": true}), http.StatusOK)
	waitFor(t, "the birthday greeting", func() bool {
		if _, err := s.Interaction.RunWorkerOnce(context.Background(), time.Now()); err != nil {
			t.Log(err)
		}
		r := mgr.do("GET", "/v1/"+customer+"/followUps", nil)
		return r.code == http.StatusOK && strings.Contains(r.raw, "生日快乐")
	})
	// Points and a lifecycle move with reasons naming the customer.
	expect(t, mgr.do("POST", "/v1/"+customer+":adjustPoints", map[string]any{"delta": 420, "reason": erasedPoints + " for " + erasedHan, "requestId": "erasure-points-1"}), http.StatusOK)
	expect(t, mgr.do("POST", "/v1/"+customer+":transitionLifecycleStage", map[string]any{"stage": "LIFECYCLE_STAGE_REPEAT", "reason": "confirmed by " + erasedLatin}), http.StatusOK)

	// A ticket with public and internal comments, resolved and rated.
	tk := mgr.do("POST", "/v1/tickets", map[string]any{"customer": customer, "type": "TICKET_TYPE_COMPLAINT", "channel": "CHANNEL_HOTLINE",
		"subject": erasedLatin + ": 茶叶受潮", "description": "Reach " + erasedHan + " at " + erasedEmail})
	expect(t, tk, http.StatusOK)
	ticket := tk.body["name"].(string)
	expect(t, mgr.do("POST", "/v1/"+ticket+"/comments", map[string]any{"visibility": "VISIBILITY_PUBLIC",
		"body": erasedPublic + " Dear " + erasedLatin + ", we will replace it."}), http.StatusOK)
	expect(t, mgr.do("POST", "/v1/"+ticket+"/comments", map[string]any{"visibility": "VISIBILITY_INTERNAL",
		"body": erasedInternal + " she is at " + erasedEmail + " / " + erasedPhone + ", " + erasedStreet}), http.StatusOK)
	expect(t, mgr.do("PATCH", "/v1/"+ticket+"?updateMask=subject", map[string]any{"subject": erasedHan + ": 茶叶受潮, 换货"}), http.StatusOK)
	expect(t, mgr.do("POST", "/v1/"+ticket+":escalate", map[string]any{"reason": erasedEscalation + " " + erasedHan + " is a VIP"}), http.StatusOK)
	expect(t, mgr.do("POST", "/v1/"+ticket+":transition", map[string]any{"status": "STATUS_RESOLVED",
		"rootCause": "packaging", "resolutionSummary": erasedResolution + " sent to " + erasedStreet}), http.StatusOK)
	expect(t, client{t, s.BaseURL, ""}.do("POST", "/v1/publicSurveys/"+testkit.SurveyToken(t, s.ServiceDeskConn, ticket)+":answer",
		map[string]any{"score": 5, "comment": erasedSurvey + " thanks, " + erasedHan}), http.StatusOK)

	// Analytics has followed: insights with the rating, segments; the reads
	// put the customer, their segments and insights into the caches.
	waitFor(t, "the customer's insights", func() bool {
		r := mgr.do("GET", "/v1/"+customer+"/insights", nil)
		return r.code == http.StatusOK && path(r.body, "facts.averageCsat") == float64(5) && path(r.body, "facts.loyaltyPoints") == "500"
	})
	waitFor(t, "the customer's segments", func() bool {
		r := mgr.do("GET", "/v1/"+customer+"/segments", nil)
		list, _ := r.body["segments"].([]any)
		return r.code == http.StatusOK && len(list) > 0
	})
	for _, p := range []string{"", "/segments", "/insights", "/interactions", "/followUps", "/pointsLedger"} {
		expect(t, mgr.do("GET", "/v1/"+customer+p, nil), http.StatusOK)
	}
	expect(t, mgr.do("GET", "/v1/"+ticket, nil), http.StatusOK)
	expect(t, mgr.do("GET", "/v1/customers:search?query="+urlQuery(erasedLatin), nil), http.StatusOK)

	// Before the purge the search finds the customer everywhere it looks
	// (or it would prove nothing after).
	before := searchDatabase(t, db, identifiers)
	for _, where := range []string{"customer.customers.", "interaction.interactions.", "servicedesk.tickets.", "servicedesk.", "analytics."} {
		if !slices.ContainsFunc(before, func(f string) bool { return strings.HasPrefix(f, where) }) {
			t.Fatalf("before the purge nothing found under %s; the search looks in the wrong places: %v", where, before)
		}
	}
	t.Logf("before the purge: %d hits in the database, e.g. %v", len(before), before)
	// Personal fields are encrypted at rest: even before the purge, the
	// e-mails, phone, street and birthday the customer service holds are in
	// no table of its schema (outbox and merge snapshots included) nor in
	// the followers' projections of the customer (interaction keeps the
	// birthday's month and day, analytics its month), nor in the webhook
	// delivery log, whose receiver got them (signed, in plaintext). Free
	// text people typed elsewhere (a ticket's description) is not a
	// personal field.
	waitFor(t, "the webhook to deliver the customer's e-mail and phone", func() bool {
		taken, _ := taker.Taken()
		got := fmt.Sprint(taken)
		return strings.Contains(got, erasedEmail) && strings.Contains(got, erasedPhone)
	})
	for _, f := range searchDatabase(t, db, []string{erasedEmail, erasedOldEmail, erasedPhone, erasedStreet, birthday}) {
		if strings.HasPrefix(f, "customer.") || strings.HasPrefix(f, "interaction.customers.") || strings.HasPrefix(f, "analytics.customers.") ||
			strings.HasPrefix(f, "analytics.webhook_") {
			t.Errorf("before the purge, a personal field in plaintext: %s", f)
		}
	}
	// The cache holds the customer, sealed: no identifier in plaintext even
	// now (and the scan below, after the purge, is not vacuous).
	id := strings.TrimPrefix(customer, "customers/")
	if cached := searchRedis(t, rdb, []string{id}); len(cached) == 0 {
		t.Fatal("before the purge no cached entry of the customer; the Redis scan proves nothing")
	}
	for _, f := range searchRedis(t, rdb, identifiers) {
		t.Errorf("before the purge, Redis holds personal data in plaintext: %s", f)
	}

	// The erasure (admin only).
	expect(t, admin.do("POST", "/v1/"+customer+":purge", map[string]any{"requestId": "erasure-purge-1"}), http.StatusOK)
	waitFollowed(t, db)
	// Nothing is served any more, from the near caches either.
	for _, p := range []string{customer, customer + "/insights", ticket} {
		if r := mgr.do("GET", "/v1/"+p, nil); r.code != http.StatusNotFound {
			t.Errorf("GET %s after the purge: HTTP %d %s", p, r.code, r.raw)
		}
	}
	for _, p := range []string{"/segments", "/interactions", "/followUps", "/pointsLedger"} {
		r := mgr.do("GET", "/v1/"+customer+p, nil)
		if r.code != http.StatusOK {
			continue
		}
		for _, v := range r.body {
			if list, ok := v.([]any); ok && len(list) > 0 {
				t.Errorf("GET %s after the purge: HTTP %d %s", customer+p, r.code, r.raw)
			}
		}
	}

	// Nothing of the customer anywhere.
	for _, f := range searchDatabase(t, db, identifiers) {
		t.Errorf("after the purge, found in the database: %s", f)
	}
	for _, f := range searchRedis(t, rdb, identifiers) {
		t.Errorf("after the purge, found in Redis: %s", f)
	}
	// Nothing about them either, found by their ids: only the event log
	// still says that something happened to them, the idempotency keys
	// what a request produced (a retry then finds it gone), the followers
	// that they were erased (a late write is refused), and the audit trail
	// who acted on which resource (names of fields, never values: the
	// search for their data above found nothing in it).
	ids := []string{strings.TrimPrefix(customer, "customers/"), strings.TrimPrefix(duplicate, "customers/")}
	for _, f := range searchDatabase(t, db, ids) {
		if !strings.Contains(f, ".outbox.") && !strings.Contains(f, ".idempotency_keys.result:") && !strings.Contains(f, ".erased_customers.id:") &&
			!strings.Contains(f, ".webhook_deliveries.body:") && !strings.Contains(f, ".webhook_deliveries.subject:") &&
			!strings.Contains(f, ".webhook_deliveries.customers:") &&
			!strings.HasPrefix(f, "audit.entries.resource:") {
			t.Errorf("after the purge, a record about the customer: %s", f)
		}
	}
	// Webhooks deliver the event log: the purge notice is all that may
	// still name them.
	trail := connect(t, db)
	for _, id := range ids {
		var kept []string
		if err := trail.QueryRow(context.Background(), `SELECT coalesce(array_agg(event_type || ' ' || state), '{}') FROM analytics.webhook_deliveries
			WHERE (position(convert_to($1, 'UTF8') IN body) > 0 OR customers @> ARRAY[$1::uuid]) AND event_type <> 'customer.purged'`, id).Scan(&kept); err != nil {
			t.Fatal(err)
		}
		if len(kept) > 0 {
			t.Errorf("after the purge, webhook deliveries still about %s: %v", id, kept)
		}
	}
	for _, f := range eventsAbout(t, db, ids) {
		t.Errorf("after the purge, an event about the customer keeps its payload: %s", f)
	}
	// The neighbour is still there: the search still sees live data.
	if left := searchDatabase(t, db, []string{"Neighbour Keeps-7741"}); !slices.ContainsFunc(left, func(f string) bool {
		return strings.HasPrefix(f, "customer.customers.")
	}) {
		t.Errorf("the neighbour's data is not found any more: %v", left)
	}

	// Purges while requests keep writing about the customer: what a
	// request checked just before the purge and stored just after would
	// outlive the erasure.
	const racing = "RACING-NOTE-7741"
	for range 20 {
		r := mgr.do("POST", "/v1/customers", map[string]any{"displayName": racing})
		expect(t, r, http.StatusOK)
		name := r.body["name"].(string)
		var wg sync.WaitGroup
		var stored atomic.Int64
		for g := range 4 {
			wg.Go(func() {
				for {
					var w response
					if g%2 == 0 {
						w = mgr.do("POST", "/v1/"+name+"/interactions", map[string]any{"channel": "CHANNEL_PHONE", "kind": "INTERACTION_KIND_NOTE", "summary": racing})
					} else {
						w = mgr.do("POST", "/v1/tickets", map[string]any{"customer": name, "type": "TICKET_TYPE_INQUIRY", "channel": "CHANNEL_HOTLINE", "subject": racing})
					}
					if w.code != http.StatusOK {
						return
					}
					stored.Add(1)
				}
			})
		}
		for stored.Load() < 4 {
			time.Sleep(time.Millisecond)
		}
		expect(t, admin.do("POST", "/v1/"+name+":purge", map[string]any{}), http.StatusOK)
		wg.Wait()
	}
	waitFollowed(t, db)
	for _, f := range searchDatabase(t, db, []string{racing}) {
		t.Errorf("after purges racing with writes, found in the database: %s", f)
	}

	// The purge is on record, naming only the customer's resource name.
	conn := connect(t, db)
	var purged int
	if err := conn.QueryRow(context.Background(), `SELECT count(*) FROM customer.outbox WHERE type = 'customer.purged' AND subject = $1`, customer).Scan(&purged); err != nil {
		t.Fatal(err)
	}
	if purged != 1 {
		t.Errorf("customer.purged events about %s: %d, want 1", customer, purged)
	}
	// And in the audit trail: who erased them.
	if err := conn.QueryRow(context.Background(), `SELECT count(*) FROM audit.entries
		WHERE method = 'PurgeCustomer' AND resource = $1 AND actor = 'root' AND result = 'OK'`, customer).Scan(&purged); err != nil || purged != 1 {
		t.Errorf("audit entries of the purge of %s: %d (%v), want 1", customer, purged, err)
	}
}

// shanghai is the care calendar of the suite.
func shanghai(t *testing.T) *time.Location {
	loc, err := time.LoadLocation("Asia/Shanghai")
	if err != nil {
		t.Fatal(err)
	}
	return loc
}

// waitFor polls check for up to 30 seconds.
func waitFor(t *testing.T, what string, check func() bool) {
	t.Helper()
	for deadline := time.Now().Add(30 * time.Second); !check(); time.Sleep(100 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
	}
}

func connect(t *testing.T, db string) *pgx.Conn {
	t.Helper()
	conn, err := pgx.Connect(context.Background(), db)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close(context.Background()) })
	return conn
}

func redisClient(t *testing.T, url string) *redis.Client {
	t.Helper()
	opts, err := redis.ParseURL(url)
	if err != nil {
		t.Fatal(err)
	}
	c := redis.NewClient(opts)
	t.Cleanup(func() { c.Close() })
	return c
}

// waitFollowed waits until every follower's cursor stands at the head of
// the stream it follows, twice in a row a moment apart (applying an event
// may emit another for the next follower).
func waitFollowed(t *testing.T, db string) {
	t.Helper()
	conn := connect(t, db)
	behind := func() []string {
		var out []string
		for _, c := range cursors(t, conn) {
			if c.Applied < c.Head {
				out = append(out, fmt.Sprintf("%s at %d of %s's %d", c.Follower, c.Applied, c.Stream, c.Head))
			}
		}
		return out
	}
	caughtUp := 0
	for deadline := time.Now().Add(30 * time.Second); caughtUp < 2; time.Sleep(200 * time.Millisecond) {
		late := behind()
		if len(late) > 0 {
			caughtUp = 0
		} else {
			caughtUp++
		}
		if time.Now().After(deadline) {
			t.Fatalf("followers never caught up: %v", late)
		}
	}
}

// searchDatabase looks for each needle in every column of every table of
// every schema of db but the system's: as bytes in bytea columns (protobuf
// and JSON payloads keep strings as UTF-8), case-insensitively in the text
// form of every other column. It returns "schema.table.column: needle" for
// each hit.
func searchDatabase(t *testing.T, db string, needles []string) []string {
	t.Helper()
	conn := connect(t, db)
	ctx := context.Background()
	rows, err := conn.Query(ctx, `
		SELECT n.nspname, c.relname, a.attname, format_type(a.atttypid, a.atttypmod)
		FROM pg_attribute a JOIN pg_class c ON c.oid = a.attrelid JOIN pg_namespace n ON n.oid = c.relnamespace
		WHERE c.relkind IN ('r', 'm', 'p') AND a.attnum > 0 AND NOT a.attisdropped
		  AND n.nspname NOT IN ('pg_catalog', 'information_schema') AND n.nspname NOT LIKE 'pg_toast%'
		ORDER BY 1, 2, a.attnum`)
	if err != nil {
		t.Fatal(err)
	}
	columns, err := pgx.CollectRows(rows, pgx.RowToStructByPos[struct{ Schema, Table, Column, Type string }])
	if err != nil {
		t.Fatal(err)
	}
	lower := make([]string, len(needles))
	raw := make([][]byte, 0, 2*len(needles))
	for i, n := range needles {
		lower[i] = strings.ToLower(n)
		raw = append(raw, []byte(n), []byte(strings.ToLower(n)))
	}
	var found []string
	for _, col := range columns {
		table := pgx.Identifier{col.Schema, col.Table}.Sanitize()
		column := pgx.Identifier{col.Column}.Sanitize()
		var query string
		var arg any
		if col.Type == "bytea" {
			query = `SELECT DISTINCT convert_from(needle, 'UTF8') FROM ` + table + ` t, unnest($1::bytea[]) needle WHERE position(needle IN t.` + column + `) > 0`
			arg = raw
		} else {
			query = `SELECT DISTINCT needle FROM ` + table + ` t, unnest($1::text[]) needle WHERE strpos(lower(t.` + column + `::text), needle) > 0`
			arg = lower
		}
		rows, err := conn.Query(ctx, query, arg)
		if err != nil {
			t.Fatalf("searching %s.%s: %v", table, column, err)
		}
		hits, err := pgx.CollectRows(rows, pgx.RowTo[string])
		if err != nil {
			t.Fatalf("searching %s.%s: %v", table, column, err)
		}
		slices.Sort(hits)
		for _, h := range slices.Compact(hits) {
			found = append(found, fmt.Sprintf("%s.%s.%s: %q", col.Schema, col.Table, col.Column, h))
		}
	}
	return found
}

// searchRedis looks for each needle in the name and the value of every
// key under "kehu:".
func searchRedis(t *testing.T, rdb *redis.Client, needles []string) []string {
	t.Helper()
	ctx := context.Background()
	var found []string
	iter := rdb.Scan(ctx, 0, "kehu:*", 1000).Iterator()
	for iter.Next(ctx) {
		key := iter.Val()
		var values []string
		switch typ := rdb.Type(ctx, key).Val(); typ {
		case "string":
			values = []string{rdb.Get(ctx, key).Val()}
		case "hash":
			for k, v := range rdb.HGetAll(ctx, key).Val() {
				values = append(values, k, v)
			}
		case "set":
			values = rdb.SMembers(ctx, key).Val()
		case "list":
			values = rdb.LRange(ctx, key, 0, -1).Val()
		case "zset":
			values = rdb.ZRange(ctx, key, 0, -1).Val()
		case "none": // expired meanwhile
		default:
			t.Errorf("Redis key %s of type %s not searched", key, typ)
		}
		for _, n := range needles {
			if strings.Contains(strings.ToLower(key), strings.ToLower(n)) {
				found = append(found, fmt.Sprintf("key %s: %q in its name", key, n))
			}
			for _, v := range values {
				if strings.Contains(strings.ToLower(v), strings.ToLower(n)) {
					found = append(found, fmt.Sprintf("key %s: %q in its value", key, n))
					break
				}
			}
		}
	}
	if err := iter.Err(); err != nil {
		t.Fatal(err)
	}
	return found
}

// eventsAbout lists the events, in every service's outbox, whose subject
// or payload names one of ids and whose payload was not blanked, except
// those the purge itself emits: customer.purged, and analytics'
// segment.exited as it drops the memberships.
func eventsAbout(t *testing.T, db string, ids []string) []string {
	t.Helper()
	conn := connect(t, db)
	rows, err := conn.Query(context.Background(), `SELECT table_schema FROM information_schema.tables WHERE table_name = 'outbox' ORDER BY 1`)
	if err != nil {
		t.Fatal(err)
	}
	schemas, err := pgx.CollectRows(rows, pgx.RowTo[string])
	if err != nil {
		t.Fatal(err)
	}
	var found []string
	for _, schema := range schemas {
		rows, err := conn.Query(context.Background(), `
			SELECT format('%s.outbox #%s %s %s', $2::text, sequence, type, subject) FROM `+pgx.Identifier{schema, "outbox"}.Sanitize()+` o
			WHERE payload IS NOT NULL AND type NOT IN ('customer.purged', 'segment.exited')
			  AND EXISTS (SELECT 1 FROM unnest($1::text[]) id WHERE strpos(o.subject, id) > 0 OR position(convert_to(id, 'UTF8') IN o.payload) > 0)
			ORDER BY sequence`, ids, schema)
		if err != nil {
			t.Fatal(err)
		}
		events, err := pgx.CollectRows(rows, pgx.RowTo[string])
		if err != nil {
			t.Fatal(err)
		}
		found = append(found, events...)
	}
	return found
}
