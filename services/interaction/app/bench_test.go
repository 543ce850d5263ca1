package app

import (
	"testing"

	customerv1 "github.com/kehu-crm/kehu/pkg/api/kehu/customer/v1"
	"github.com/kehu-crm/kehu/pkg/testkit"
	"github.com/kehu-crm/kehu/services/interaction/internal/interaction"
	"github.com/kehu-crm/kehu/services/interaction/migrations"
)

// BenchmarkFollowCustomerEvents measures how fast the interaction service
// applies the customer event stream when it is behind, as after a bulk
// import or a restart (issue 13's target: 20,000 events/s): 20,000
// customers are imported with the follower off, then a replica with the
// follower on catches up (see testkit.CatchUpRate).
func BenchmarkFollowCustomerEvents(b *testing.B) {
	testkit.CatchUpRate(b, 20000, migrations.Schema, interaction.CustomerStream, func() (customerv1.CustomerServiceClient, string, func()) {
		e := start(b, func(c *Config) { c.FollowCustomers = false })
		return e.customers, e.dbURL, func() {
			e.cfg.FollowCustomers = true
			e.second(b)
		}
	})
}
