package app

import (
	"context"
	"fmt"
	"math"
	"math/rand/v2"
	"sort"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"

	analyticsv1 "github.com/kehu-crm/kehu/pkg/api/kehu/analytics/v1"
	"github.com/kehu-crm/kehu/pkg/auth"
	"github.com/kehu-crm/kehu/pkg/testkit"
)

// The scoring pass agrees with RFM quintiles and ABC computed
// independently, here in Go, on a generated customer base with ties,
// buyers in another currency, old purchases and customers who never
// bought.
func TestScoringMatchesAnIndependentComputation(t *testing.T) {
	t.Parallel()
	e := start(t)
	ctx := context.Background()
	conn := e.readModel(t)
	rng := rand.New(rand.NewPCG(7, 11))
	now := time.Now().UTC().Truncate(time.Second)
	type buyer struct {
		last   time.Time
		n      int
		cents  int64
		active bool
	}
	buyers := map[string]*buyer{}
	var customers, records [][]any
	for i := range 400 {
		id := uuid.NewString()
		customers = append(customers, []any{id, fmt.Sprintf("Customer %d", i)})
		b := &buyer{}
		buyers[id] = b
		for range rng.IntN(6) {
			days := rng.IntN(500)
			currency := "CNY"
			if rng.IntN(10) == 0 {
				currency = "USD"
			}
			cents := int64(rng.IntN(50)) * 1000 // coarse amounts make ties
			at := now.AddDate(0, 0, -days)
			records = append(records, []any{uuid.NewString(), id, "WEBSITE", "PURCHASE", at, fmt.Sprintf("%d.%02d", cents/100, cents%100), currency})
			if currency == "CNY" && days < 365 {
				b.active = true
				b.n++
				b.cents += cents
				if at.After(b.last) {
					b.last = at
				}
			}
		}
	}
	if _, err := conn.CopyFrom(ctx, pgx.Identifier{"customers"}, []string{"id", "display_name"}, pgx.CopyFromRows(customers)); err != nil {
		t.Fatal(err)
	}
	if _, err := conn.CopyFrom(ctx, pgx.Identifier{"records"}, []string{"id", "customer_id", "channel", "kind", "occur_time", "amount", "currency_code"},
		pgx.CopyFromSlice(len(records), func(i int) ([]any, error) { return records[i], nil })); err != nil {
		t.Fatal(err)
	}
	resp, err := e.analytics.RecomputeAll(testkit.As(t, "root", auth.RoleAdmin), &analyticsv1.RecomputeAllRequest{})
	if err != nil || resp.GetCustomersScored() != 400 {
		t.Fatalf("recompute: %v %v", resp, err)
	}

	// The independent computation.
	var active []string
	var total int64
	for id, b := range buyers {
		if b.active {
			active = append(active, id)
			total += b.cents
		}
	}
	quintile := func(value func(*buyer) float64, id string) int {
		v, le := value(buyers[id]), 0
		for _, other := range active {
			if value(buyers[other]) <= v {
				le++
			}
		}
		return int(math.Ceil(5 * float64(le) / float64(len(active))))
	}
	sort.Slice(active, func(i, j int) bool {
		a, b := buyers[active[i]], buyers[active[j]]
		if a.cents != b.cents {
			return a.cents > b.cents
		}
		return active[i] < active[j]
	})
	wantABC := map[string]string{}
	var before int64
	for _, id := range active {
		share := float64(before) / float64(total)
		switch {
		case buyers[id].cents == 0:
			wantABC[id] = "C"
		case share < 0.8:
			wantABC[id] = "A"
		case share < 0.95:
			wantABC[id] = "B"
		default:
			wantABC[id] = "C"
		}
		before += buyers[id].cents
	}

	rows, err := conn.Query(ctx, `SELECT customer_id::text, recency, frequency, monetary, abc FROM scores`)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	checked, mismatches := 0, 0
	for rows.Next() {
		var (
			id      string
			r, f, m int
			abc     string
		)
		if err := rows.Scan(&id, &r, &f, &m, &abc); err != nil {
			t.Fatal(err)
		}
		checked++
		want := [4]any{0, 0, 0, "C"}
		if buyers[id].active {
			want = [4]any{
				quintile(func(b *buyer) float64 { return float64(b.last.Unix()) }, id),
				quintile(func(b *buyer) float64 { return float64(b.n) }, id),
				quintile(func(b *buyer) float64 { return float64(b.cents) }, id),
				wantABC[id],
			}
		}
		if got := [4]any{r, f, m, abc}; got != want && mismatches < 5 {
			mismatches++
			t.Errorf("customer %s: scored %v, want %v", id, got, want)
		}
	}
	if checked != 400 {
		t.Errorf("%d customers scored, want 400", checked)
	}
}
