package app

import (
	"fmt"
	"testing"

	customerv1 "github.com/kehu-crm/kehu/pkg/api/kehu/customer/v1"
)

// seed imports n customers through the bulk path.
func seed(b testing.TB, e *env, n int) {
	b.Helper()
	stream, err := e.client.ImportCustomers(e.manager(b))
	if err != nil {
		b.Fatal(err)
	}
	const chunk = 500
	for i := 0; i < n; i += chunk {
		var req customerv1.ImportCustomersRequest
		for j := i; j < min(i+chunk, n); j++ {
			req.Customers = append(req.Customers, &customerv1.Customer{
				ExternalId:  fmt.Sprintf("bench-%06d", j),
				DisplayName: fmt.Sprintf("Customer %06d", j),
				Emails:      []string{fmt.Sprintf("c%06d@example.com", j)},
				Company:     []string{"Huaxin", "Qianhai Logistics", "Blue Sea", "Xingchen"}[j%4],
				Tags:        []string{[]string{"vip", "retail", "export"}[j%3]},
			})
		}
		if err := stream.Send(&req); err != nil {
			b.Fatal(err)
		}
	}
	res, err := stream.CloseAndRecv()
	if err != nil || res.GetFailedCount() > 0 {
		b.Fatalf("seeding: %v %v", res, err)
	}
}

// BenchmarkCreateCustomer measures a full create: validation, duplicate
// check, insert, outbox event, commit, read-back.
func BenchmarkCreateCustomer(b *testing.B) {
	e := start(b)
	ctx := e.manager(b)
	b.ResetTimer()
	for i := 0; b.Loop(); i++ {
		_, err := e.client.CreateCustomer(ctx, &customerv1.CreateCustomerRequest{Customer: &customerv1.Customer{
			DisplayName: fmt.Sprintf("Bench %d", i), Emails: []string{fmt.Sprintf("bench%d@example.com", i)},
		}})
		if err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkGetCustomer measures a read served from the Redis cache.
func BenchmarkGetCustomer(b *testing.B) {
	e := start(b)
	c := e.create(b, &customerv1.Customer{DisplayName: "Hot Customer"})
	ctx := e.manager(b)
	for b.Loop() {
		if _, err := e.client.GetCustomer(ctx, &customerv1.GetCustomerRequest{Name: c.GetName()}); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkListCustomersFiltered pages 100 customers out of 20,000 with an
// AIP-160 filter and an order.
func BenchmarkListCustomersFiltered(b *testing.B) {
	e := start(b)
	seed(b, e, 20000)
	ctx := e.manager(b)
	b.ResetTimer()
	for b.Loop() {
		resp, err := e.client.ListCustomers(ctx, &customerv1.ListCustomersRequest{
			Filter: `tags:"vip" AND company = "Huaxin"`, OrderBy: "display_name", PageSize: 100,
		})
		if err != nil || len(resp.GetCustomers()) != 100 {
			b.Fatalf("%d customers, %v", len(resp.GetCustomers()), err)
		}
	}
}

// BenchmarkImport measures bulk upsert throughput in batches of 1,000 rows
// (the first batch inserts, later ones update the same external ids).
func BenchmarkImport(b *testing.B) {
	e := start(b)
	b.ResetTimer()
	n := 0
	for b.Loop() {
		seed(b, e, 1000)
		n += 1000
	}
	b.ReportMetric(float64(n)/b.Elapsed().Seconds(), "rows/s")
}

// BenchmarkGetCustomerUncached measures a read from PostgreSQL alone (no
// Redis, no in-process tier): the path where personal fields are opened.
func BenchmarkGetCustomerUncached(b *testing.B) {
	e := start(b, func(c *Config) { c.RedisURL, c.LocalCacheTTL = "", 0 })
	c := e.create(b, &customerv1.Customer{DisplayName: "Cold Customer", Emails: []string{"cold@example.com"},
		Phones: []string{"+8613912345678"}, Birthday: "1984-03-09", Address: &customerv1.PostalAddress{Street: "88 Wensan Road", City: "Hangzhou"}})
	ctx := e.manager(b)
	for b.Loop() {
		if _, err := e.client.GetCustomer(ctx, &customerv1.GetCustomerRequest{Name: c.GetName()}); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkImportNew measures ImportCustomers for customers the service has
// not seen (the bulk-load path of `kehuctl seed` and make bench): 20,000
// rows a stream, in messages of 1,000, each with an e-mail and a phone.
func BenchmarkImportNew(b *testing.B) {
	e := start(b)
	const rows, chunk = 20000, 1000
	n := 0
	for i := 0; b.Loop(); i++ {
		stream, err := e.client.ImportCustomers(e.manager(b))
		if err != nil {
			b.Fatal(err)
		}
		for j := 0; j < rows; j += chunk {
			var req customerv1.ImportCustomersRequest
			for k := j; k < j+chunk; k++ {
				id := i*rows + k
				req.Customers = append(req.Customers, &customerv1.Customer{
					ExternalId:  fmt.Sprintf("new-%08d", id),
					DisplayName: fmt.Sprintf("Customer %08d", id),
					Emails:      []string{fmt.Sprintf("c%08d@example.com", id)},
					Phones:      []string{fmt.Sprintf("+86139%08d", id)},
					Company:     []string{"Huaxin", "Qianhai Logistics", "Blue Sea", "Xingchen"}[id%4],
					Tags:        []string{[]string{"vip", "retail", "export"}[id%3]},
				})
			}
			if err := stream.Send(&req); err != nil {
				b.Fatal(err)
			}
		}
		res, err := stream.CloseAndRecv()
		if err != nil || res.GetCreatedCount() != rows {
			b.Fatalf("import: %v %v", res, err)
		}
		n += rows
	}
	b.ReportMetric(float64(n)/b.Elapsed().Seconds(), "rows/s")
}
