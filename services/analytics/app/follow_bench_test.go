package app

import (
	"testing"

	customerv1 "github.com/kehu-crm/kehu/pkg/api/kehu/customer/v1"
	"github.com/kehu-crm/kehu/pkg/testkit"
	"github.com/kehu-crm/kehu/services/analytics/internal/insight"
	"github.com/kehu-crm/kehu/services/analytics/migrations"
)

// BenchmarkFollowCustomerEvents measures how fast analytics applies the
// customer event stream when it is behind, as after a bulk import (issue
// 13's target: 20,000 events/s): 20,000 customers are imported while its
// followers are off, then a replica with them on catches up (see
// testkit.CatchUpRate). What analytics does per batch after applying it
// (stage proposals, churn risks) is in the figure.
func BenchmarkFollowCustomerEvents(b *testing.B) {
	testkit.CatchUpRate(b, 20000, migrations.Schema, insight.SourceCustomer, func() (customerv1.CustomerServiceClient, string, func()) {
		e := start(b, func(c *Config) { c.Follow = false })
		return e.customers, e.dbURL, func() { e.replica(b, func(c *Config) { c.Follow = true }) }
	})
}
