package app

import (
	"context"
	"slices"
	"testing"
	"time"

	analyticsv1 "github.com/kehu-crm/kehu/pkg/api/kehu/analytics/v1"
	"github.com/kehu-crm/kehu/pkg/auth"
	"github.com/kehu-crm/kehu/pkg/outbox"
	"github.com/kehu-crm/kehu/pkg/pg"
	"github.com/kehu-crm/kehu/pkg/testkit"
)

// When every source pruned the events analytics never read (it was down
// longer than their outbox retention), it rebuilds its read model from
// snapshots of the sources and goes on following from their oldest kept
// event.
func TestResyncAfterPrunedEvents(t *testing.T) {
	t.Parallel()
	e := start(t, func(c *Config) { c.Follow = false }) // analytics is "down"
	mgr := testkit.As(t, "mia", auth.RoleManager)
	c := e.newCustomer(t, "Before the outage", "bob")
	e.purchase(t, c, 10, "120")
	e.purchase(t, c, 5, "80")
	e.complaint(t, c, 2)
	// Every source prunes all its events.
	ctx := context.Background()
	for _, schema := range []string{"customer", "interaction", "servicedesk"} {
		pool, err := pg.Connect(ctx, e.dbURL, schema)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := pool.Exec(ctx, `UPDATE outbox SET create_time = now() - interval '30 days'`); err != nil {
			t.Fatal(err)
		}
		if n, err := outbox.Prune(ctx, pool, time.Now().Add(-24*time.Hour)); err != nil || n == 0 {
			t.Fatalf("%s: pruned %d events: %v", schema, n, err)
		}
		pool.Close()
	}

	// Analytics comes back.
	back := analyticsv1.NewAnalyticsServiceClient(testkit.Dial(t, e.replica(t, func(c *Config) { c.Follow = true })))
	testkit.Eventually(t, "the read model rebuilt from snapshots", func() bool {
		r, err := back.GetCustomerInsights(mgr, &analyticsv1.GetCustomerInsightsRequest{Customer: c})
		f := r.GetInsights().GetFacts()
		return err == nil && len(f.GetPurchases()) == 1 && f.GetPurchases()[0].GetCountLifetime() == 2 &&
			f.GetComplaints_90D() == 1 && f.GetAverageCsat() == 2
	})
	seg, err := back.GetCustomerSegments(mgr, &analyticsv1.GetCustomerSegmentsRequest{Customer: c})
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Contains(seg.GetSegments(), "segments/dissatisfied") {
		t.Errorf("segments after the resync: %v", seg.GetSegments())
	}
	// And it follows what happens next.
	d := e.newCustomer(t, "After the outage", "")
	e.purchase(t, d, 1, "50")
	e.purchase(t, c, 1, "40")
	testkit.Eventually(t, "new events after the resync", func() bool {
		r1, err1 := back.GetCustomerInsights(mgr, &analyticsv1.GetCustomerInsightsRequest{Customer: d})
		r2, err2 := back.GetCustomerInsights(mgr, &analyticsv1.GetCustomerInsightsRequest{Customer: c})
		return err1 == nil && err2 == nil && r1.GetInsights().GetFacts().GetLastPurchaseTime() != nil &&
			r2.GetInsights().GetFacts().GetPurchases()[0].GetCountLifetime() == 3
	})
}
