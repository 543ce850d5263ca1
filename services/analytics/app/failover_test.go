package app

import (
	"testing"
	"time"

	analyticsv1 "github.com/kehu-crm/kehu/pkg/api/kehu/analytics/v1"
	"github.com/kehu-crm/kehu/pkg/auth"
	"github.com/kehu-crm/kehu/pkg/testkit"
)

// When the replica following the streams stops, another takes over and
// the read model keeps up.
func TestFollowerFailover(t *testing.T) {
	t.Parallel()
	e := start(t)
	// A second replica, started after the first holds every stream's lock.
	secondClient := analyticsv1.NewAnalyticsServiceClient(testkit.Dial(t, e.replica(t)))
	mgr := testkit.As(t, "mia", auth.RoleManager)

	c := e.newCustomer(t, "Before the failover", "")
	e.purchase(t, c, 3, "10")
	lastPurchase := func(customer string) bool {
		r, err := secondClient.GetCustomerInsights(mgr, &analyticsv1.GetCustomerInsightsRequest{Customer: customer})
		return err == nil && r.GetInsights().GetFacts().GetLastPurchaseTime() != nil
	}
	testkit.Eventually(t, "the first replica follows", func() bool { return lastPurchase(c) })

	start := time.Now()
	e.stopFirst()
	d := e.newCustomer(t, "After the failover", "")
	e.purchase(t, d, 1, "20")
	testkit.Eventually(t, "the second replica takes over", func() bool { return lastPurchase(d) })
	t.Logf("took over in %s", time.Since(start).Round(100*time.Millisecond))
}
