package app

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	customerv1 "github.com/kehu-crm/kehu/pkg/api/kehu/customer/v1"
	"github.com/kehu-crm/kehu/services/interaction/internal/interaction"
)

// BenchmarkFollowCustomerEvents measures how fast the interaction service
// applies the customer event stream when it is behind, as after a bulk
// import or a restart (issue 13's target: 20,000 events/s): 20,000
// customers are imported with the follower off, then a replica with the
// follower on catches up. The figure is events per second from the
// replica's start to its cursor reaching the last event.
func BenchmarkFollowCustomerEvents(b *testing.B) {
	const customers, chunk = 20000, 1000
	var applied int64
	var took time.Duration
	for i := 0; b.Loop(); i++ {
		e := start(b, func(c *Config) { c.FollowCustomers = false })
		stream, err := e.customers.ImportCustomers(e.manager(b))
		if err != nil {
			b.Fatal(err)
		}
		for j := 0; j < customers; j += chunk {
			var req customerv1.ImportCustomersRequest
			for k := j; k < j+chunk; k++ {
				req.Customers = append(req.Customers, &customerv1.Customer{
					ExternalId: fmt.Sprintf("follow-%08d", k), DisplayName: fmt.Sprintf("Customer %08d", k),
					Emails: []string{fmt.Sprintf("f%08d@example.com", k)}, Tags: []string{"vip"},
				})
			}
			if err := stream.Send(&req); err != nil {
				b.Fatal(err)
			}
		}
		if res, err := stream.CloseAndRecv(); err != nil || res.GetCreatedCount() != customers {
			b.Fatalf("import: %v %v", res, err)
		}
		db, err := pgx.Connect(context.Background(), e.dbURL)
		if err != nil {
			b.Fatal(err)
		}
		var last int64
		if err := db.QueryRow(context.Background(), `SELECT max(sequence) FROM customer.outbox`).Scan(&last); err != nil {
			b.Fatal(err)
		}
		e.cfg.FollowCustomers = true
		begin := time.Now()
		e.second(b)
		for {
			var at int64
			err := db.QueryRow(context.Background(), `SELECT coalesce(max(sequence), 0) FROM interaction.consumer_cursors WHERE stream = $1`,
				interaction.CustomerStream).Scan(&at)
			if err != nil {
				b.Fatal(err)
			}
			if at >= last {
				break
			}
			if time.Since(begin) > 10*time.Minute {
				b.Fatalf("the follower reached %d of %d in 10 minutes", at, last)
			}
			time.Sleep(20 * time.Millisecond)
		}
		took += time.Since(begin)
		applied += customers
		db.Close(context.Background())
	}
	b.ReportMetric(float64(applied)/took.Seconds(), "events/s")
}
