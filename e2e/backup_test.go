package e2e_test

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/kehu-crm/kehu/e2e"
	"github.com/kehu-crm/kehu/pkg/auth"
	"github.com/kehu-crm/kehu/pkg/testdb"
	"github.com/kehu-crm/kehu/pkg/testkit"
	analyticsmigrations "github.com/kehu-crm/kehu/services/analytics/migrations"
	customermigrations "github.com/kehu-crm/kehu/services/customer/migrations"
	interactionmigrations "github.com/kehu-crm/kehu/services/interaction/migrations"
	servicedeskmigrations "github.com/kehu-crm/kehu/services/servicedesk/migrations"
)

// TestBackupRestoreDrill is the drill an operator runs, with the commands
// the README gives: `kehuctl backup` of a populated suite while it runs,
// more changes, every schema dropped, `kehuctl restore`, and the suite
// started again on the restored data. Every record of the backup is back
// and nothing after it; every event cursor stands at or behind the stream
// it follows, as in one snapshot; the followers resume from there and end
// with exactly the source's facts (none lost, none applied twice); and
// nothing newer than the backup is served from the cache.
func TestBackupRestoreDrill(t *testing.T) {
	if testing.Short() {
		t.Skip("drill builds and runs kehuctl")
	}
	kehuctl := filepath.Join(t.TempDir(), "kehuctl")
	if out, err := exec.Command("go", "build", "-o", kehuctl, "github.com/kehu-crm/kehu/cmd/kehuctl").CombinedOutput(); err != nil {
		t.Fatalf("building kehuctl: %v\n%s", err, out)
	}
	db := testdb.New(t, customermigrations.All, interactionmigrations.All, servicedeskmigrations.All, analyticsmigrations.All)
	// A Redis database of its own: the restore empties the services' keys.
	redisURL := ownRedisDatabase(t, 9)
	opts := e2e.Options{DatabaseURL: db, RedisURL: redisURL}
	s := e2e.Start(t, opts)
	mgr := client{t, s.BaseURL, s.Token(t, "mia", auth.RoleManager)}

	var customers []string
	for i := range 4 {
		c := mgr.do("POST", "/v1/customers", map[string]any{"displayName": fmt.Sprintf("客户 %d", i), "emails": []string{fmt.Sprintf("c%d@example.cn", i)}})
		expect(t, c, http.StatusOK)
		name := c.body["name"].(string)
		customers = append(customers, name)
		for _, amount := range []string{"100.00", "250.50"} {
			expect(t, mgr.do("POST", "/v1/"+name+"/interactions", map[string]any{
				"channel": "CHANNEL_WEBSITE", "kind": "INTERACTION_KIND_PURCHASE", "amount": map[string]any{"currencyCode": "CNY", "amount": amount},
			}), http.StatusOK)
		}
	}
	ticket := mgr.do("POST", "/v1/tickets", map[string]any{
		"customer": customers[0], "type": "TICKET_TYPE_INQUIRY", "channel": "CHANNEL_HOTLINE", "subject": "发票", "description": "需要发票",
	})
	expect(t, ticket, http.StatusOK)
	expect(t, mgr.do("POST", "/v1/"+ticket.body["name"].(string)+"/comments", map[string]any{"visibility": "VISIBILITY_PUBLIC", "body": "已开具"}), http.StatusOK)

	archive := filepath.Join(t.TempDir(), "kehu.dump")
	runKehuctl(t, kehuctl, db, redisURL, "backup", "--file", archive)

	// After the backup: a rename the cache then serves, and a customer.
	renamed := mgr.do("PATCH", "/v1/"+customers[0]+"?updateMask=display_name", map[string]any{"displayName": "改名之后"})
	expect(t, renamed, http.StatusOK)
	for range 2 {
		if got := mgr.do("GET", "/v1/"+customers[0], nil); got.body["displayName"] != "改名之后" {
			t.Fatalf("renamed customer: %s", got.raw)
		}
	}
	expect(t, mgr.do("POST", "/v1/customers", map[string]any{"displayName": "备份之后"}), http.StatusOK)
	s.Stop()

	dropServiceSchemas(t, db)
	runKehuctl(t, kehuctl, db, redisURL, "restore", "--file", archive)
	checkCursorsBehindStreams(t, db)

	s = e2e.Start(t, opts)
	mgr = client{t, s.BaseURL, s.Token(t, "mia", auth.RoleManager)}
	list := mgr.do("GET", "/v1/customers?pageSize=100", nil)
	expect(t, list, http.StatusOK)
	if got, _ := list.body["customers"].([]any); len(got) != len(customers) {
		t.Fatalf("restored customers: want the %d of the backup, got %s", len(customers), list.raw)
	}
	if got := mgr.do("GET", "/v1/"+customers[0], nil); got.body["displayName"] != "客户 0" {
		t.Fatalf("customer 0 after the restore (a cached copy from after the backup?): %s", got.raw)
	}
	for _, name := range customers {
		items := mgr.do("GET", "/v1/"+name+"/interactions", nil)
		expect(t, items, http.StatusOK)
		if got, _ := items.body["interactions"].([]any); len(got) != 2 {
			t.Fatalf("%s's interactions after the restore: %s", name, items.raw)
		}
	}
	comments := mgr.do("GET", "/v1/"+ticket.body["name"].(string)+"/comments", nil)
	expect(t, comments, http.StatusOK)
	if got, _ := comments.body["comments"].([]any); len(got) != 1 {
		t.Fatalf("ticket comments after the restore: %s", comments.raw)
	}

	// The followers go on from the restored cursors: one more purchase
	// each, and analytics ends with exactly three per customer.
	for _, name := range customers {
		expect(t, mgr.do("POST", "/v1/"+name+"/interactions", map[string]any{
			"channel": "CHANNEL_WEBSITE", "kind": "INTERACTION_KIND_PURCHASE", "amount": map[string]any{"currencyCode": "CNY", "amount": "1.00"},
		}), http.StatusOK)
	}
	deadline := time.Now().Add(30 * time.Second)
	for _, name := range customers {
		for {
			insights := mgr.do("GET", "/v1/"+name+"/insights", nil)
			purchases, _ := path(insights.body, "facts.purchases").([]any)
			var count, amount any
			if len(purchases) == 1 {
				p := purchases[0].(map[string]any)
				count, amount = p["countLifetime"], path(p, "amountLifetime.amount")
			}
			if count == "3" && amount == "351.5" || count == "3" && amount == "351.50" {
				break
			}
			if time.Now().After(deadline) {
				t.Fatalf("%s's purchases in analytics: want 3 for 351.50, got %v for %v (%s)", name, count, amount, insights.raw)
			}
			time.Sleep(100 * time.Millisecond)
		}
	}
	checkCursorsBehindStreams(t, db)
}

// ownRedisDatabase is the tests' Redis with database n.
func ownRedisDatabase(t *testing.T, n int) string {
	u, err := url.Parse(testkit.RedisURL())
	if err != nil {
		t.Fatal(err)
	}
	u.Path = fmt.Sprintf("/%d", n)
	return u.String()
}

func runKehuctl(t *testing.T, kehuctl, db, redisURL string, args ...string) {
	t.Helper()
	cmd := exec.Command(kehuctl, args...)
	cmd.Env = append(os.Environ(), "KEHU_DATABASE_URL="+db, "KEHU_REDIS_URL="+redisURL)
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("kehuctl %s: %v\n%s", strings.Join(args, " "), err, out)
	}
	t.Logf("kehuctl %s:\n%s", args[0], out)
}

func dropServiceSchemas(t *testing.T, db string) {
	t.Helper()
	conn, err := pgx.Connect(context.Background(), db)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(context.Background())
	if _, err := conn.Exec(context.Background(), `DROP SCHEMA customer, interaction, servicedesk, analytics CASCADE`); err != nil {
		t.Fatal(err)
	}
}

// checkCursorsBehindStreams checks that no cursor is past the last event
// of the stream it follows: it would skip the events that get its
// sequence numbers next.
func checkCursorsBehindStreams(t *testing.T, db string) {
	t.Helper()
	conn, err := pgx.Connect(context.Background(), db)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(context.Background())
	var ahead []string
	for _, c := range cursors(t, conn) {
		if c.Applied > c.Head {
			ahead = append(ahead, fmt.Sprintf("%s follows %s up to %d, past its last event %d", c.Follower, c.Stream, c.Applied, c.Head))
		}
	}
	if len(ahead) > 0 {
		t.Fatalf("cursors ahead of their streams: %v", ahead)
	}
}
