package app

import (
	"testing"
	"time"

	"github.com/kehu-crm/kehu/pkg/auth"
	"github.com/kehu-crm/kehu/pkg/testkit"
	"github.com/kehu-crm/kehu/services/analytics/internal/insight"
	"github.com/kehu-crm/kehu/services/analytics/migrations"
)

// BenchmarkFollowCustomerEvents measures how fast analytics applies the
// customer event stream when it is behind, as after a bulk import (issue
// 13's target: 20,000 events/s): 20,000 customers are imported while its
// followers are off, then a replica with them on catches up. The figure is
// events per second from the replica's start to its customer cursor
// reaching the last event; each batch's segment evaluation and the rest of
// what analytics does per batch are in it.
func BenchmarkFollowCustomerEvents(b *testing.B) {
	const customers = 20000
	var took time.Duration
	n := 0
	for b.Loop() {
		e := start(b, func(c *Config) { c.Follow = false })
		testkit.ImportCustomers(b, testkit.As(b, "mia", auth.RoleManager), e.customers, "follow", customers)
		begin := time.Now()
		e.replica(b, func(c *Config) { c.Follow = true })
		testkit.CatchUp(b, e.dbURL, "customer", migrations.Schema, insight.SourceCustomer, 20*time.Minute)
		took += time.Since(begin)
		n += customers
	}
	b.ReportMetric(float64(n)/took.Seconds(), "events/s")
}
