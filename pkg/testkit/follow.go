package testkit

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	customerv1 "github.com/kehu-crm/kehu/pkg/api/kehu/customer/v1"
	"github.com/kehu-crm/kehu/pkg/auth"
)

// CatchUpRate is the body of a follower benchmark: for each run, suite
// starts a fresh suite with the follower under test off and returns the
// customer service's client, the database and a function starting the
// follower; n customers are imported, the follower started, and the time
// until its cursor (stream in schema) reaches the import's last event is
// reported as events per second.
func CatchUpRate(b *testing.B, n int, schema, stream string, suite func() (customerv1.CustomerServiceClient, string, func())) {
	var took time.Duration
	applied := 0
	for b.Loop() {
		client, dbURL, follow := suite()
		importCustomers(b, As(b, "mia", auth.RoleManager), client, "follow", n)
		begin := time.Now()
		follow()
		catchUp(b, dbURL, "customer", schema, stream, 20*time.Minute)
		took += time.Since(begin)
		applied += n
	}
	b.ReportMetric(float64(applied)/took.Seconds(), "events/s")
}

// importCustomers imports n new customers (external ids prefix-00000000
// on, an e-mail each) through ImportCustomers in messages of 1,000, as a
// bulk load does, and fails the test unless all were created.
func importCustomers(t testing.TB, ctx context.Context, client customerv1.CustomerServiceClient, prefix string, n int) {
	t.Helper()
	const chunk = 1000
	stream, err := client.ImportCustomers(ctx)
	if err != nil {
		t.Fatal(err)
	}
	for j := 0; j < n; j += chunk {
		var req customerv1.ImportCustomersRequest
		for k := j; k < min(j+chunk, n); k++ {
			req.Customers = append(req.Customers, &customerv1.Customer{
				ExternalId: fmt.Sprintf("%s-%08d", prefix, k), DisplayName: fmt.Sprintf("Customer %08d", k),
				Emails: []string{fmt.Sprintf("%s%08d@example.com", prefix, k)}, Tags: []string{"vip"},
			})
		}
		if err := stream.Send(&req); err != nil {
			t.Fatal(err)
		}
	}
	if res, err := stream.CloseAndRecv(); err != nil || res.GetCreatedCount() != int64(n) {
		t.Fatalf("import of %d customers: %v %v", n, res, err)
	}
}

// catchUp waits until the consumer cursor of stream in schema reaches the
// last event of the source schema's outbox as it is when called.
func catchUp(t testing.TB, dbURL, source, schema, stream string, limit time.Duration) {
	t.Helper()
	ctx := context.Background()
	begin := time.Now()
	db, err := pgx.Connect(ctx, dbURL)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close(ctx)
	var last int64
	if err := db.QueryRow(ctx, `SELECT coalesce(max(sequence), 0) FROM `+pgx.Identifier{source, "outbox"}.Sanitize()).Scan(&last); err != nil {
		t.Fatal(err)
	}
	for {
		var at int64
		err := db.QueryRow(ctx, `SELECT coalesce(max(sequence), 0) FROM `+pgx.Identifier{schema, "consumer_cursors"}.Sanitize()+` WHERE stream = $1`, stream).Scan(&at)
		if err != nil {
			t.Fatal(err)
		}
		if at >= last {
			return
		}
		if time.Since(begin) > limit {
			t.Fatalf("%s.%s reached sequence %d of %d in %s", schema, stream, at, last, limit)
		}
		time.Sleep(20 * time.Millisecond)
	}
}
