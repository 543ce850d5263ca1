package app

import (
	"testing"
	"time"

	"github.com/kehu-crm/kehu/pkg/testkit"
	"github.com/kehu-crm/kehu/services/interaction/internal/interaction"
	"github.com/kehu-crm/kehu/services/interaction/migrations"
)

// BenchmarkFollowCustomerEvents measures how fast the interaction service
// applies the customer event stream when it is behind, as after a bulk
// import or a restart (issue 13's target: 20,000 events/s): 20,000
// customers are imported with the follower off, then a replica with the
// follower on catches up. The figure is events per second from the
// replica's start to its cursor reaching the last event.
func BenchmarkFollowCustomerEvents(b *testing.B) {
	const customers = 20000
	var took time.Duration
	n := 0
	for b.Loop() {
		e := start(b, func(c *Config) { c.FollowCustomers = false })
		testkit.ImportCustomers(b, e.manager(b), e.customers, "follow", customers)
		e.cfg.FollowCustomers = true
		begin := time.Now()
		e.second(b)
		testkit.CatchUp(b, e.dbURL, "customer", migrations.Schema, interaction.CustomerStream, 10*time.Minute)
		took += time.Since(begin)
		n += customers
	}
	b.ReportMetric(float64(n)/took.Seconds(), "events/s")
}
