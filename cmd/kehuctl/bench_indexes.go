package main

import (
	"context"
	"crypto/sha512"
	"encoding/hex"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
)

// indexCost is what one index of customer.customers costs a bulk load.
type indexCost struct {
	name, def string
	// rate is rows per second copied into the table with this index only
	// (none: no index; all: every one).
	rate float64
}

// indexCosts copies the bench's customers into a copy of
// customer.customers without indexes, then with each of its indexes alone,
// then with all of them, rounds times (interleaved, so drift hits all
// alike), and returns each variant's median rows per second. The indexes
// are read from the catalogue, so the table follows the migrations.
func indexCosts(ctx context.Context, pool *pgxpool.Pool, customers []benchCustomer, rounds int) ([]indexCost, error) {
	rows, err := pool.Query(ctx, `SELECT indexname, indexdef FROM pg_indexes
		WHERE schemaname = 'customer' AND tablename = 'customers' ORDER BY indexname`)
	if err != nil {
		return nil, err
	}
	var indexes []indexCost
	var name, def string
	if _, err := pgx.ForEachRow(rows, []any{&name, &def}, func() error {
		indexes = append(indexes, indexCost{name: name, def: def})
		return nil
	}); err != nil {
		return nil, err
	}
	variants := append([]indexCost{{name: "none"}}, indexes...)
	variants = append(variants, indexCost{name: "all"})
	rates := make([][]float64, len(variants))
	for range rounds {
		for i, v := range variants {
			var defs []string
			switch v.name {
			case "none":
			case "all":
				for _, x := range indexes {
					defs = append(defs, x.def)
				}
			default:
				defs = []string{v.def}
			}
			rate, err := copyIndexed(ctx, pool, customers, defs)
			if err != nil {
				return nil, fmt.Errorf("copying with %s: %w", v.name, err)
			}
			rates[i] = append(rates[i], rate)
		}
	}
	for i := range variants {
		slices.Sort(rates[i])
		variants[i].rate = rates[i][len(rates[i])/2]
	}
	if _, err := pool.Exec(ctx, `DROP TABLE IF EXISTS public.bench_indexed`); err != nil {
		return nil, err
	}
	return variants, nil
}

// copyIndexed copies customers into a fresh copy of customer.customers
// with the indexes defs (customer.customers' own definitions) and returns
// rows per second.
func copyIndexed(ctx context.Context, pool *pgxpool.Pool, customers []benchCustomer, defs []string) (float64, error) {
	if _, err := pool.Exec(ctx, `DROP TABLE IF EXISTS public.bench_indexed;
		CREATE TABLE public.bench_indexed (LIKE customer.customers INCLUDING DEFAULTS)`); err != nil {
		return 0, err
	}
	for _, def := range defs {
		// "CREATE INDEX customers_x ON customer.customers USING ..."
		def = strings.Replace(def, " ON customer.customers ", " ON public.bench_indexed ", 1)
		def = strings.Replace(def, " INDEX customers_", " INDEX bench_indexed_", 1)
		if _, err := pool.Exec(ctx, def); err != nil {
			return 0, err
		}
	}
	// The suite's and other work's dirty pages are not this copy's cost.
	if _, err := pool.Exec(ctx, `CHECKPOINT`); err != nil {
		return 0, err
	}
	now := time.Now().UTC()
	start := time.Now()
	n, err := pool.CopyFrom(ctx, pgx.Identifier{"public", "bench_indexed"},
		[]string{"id", "kind", "display_name", "email_index", "phone_index", "company", "source", "lifecycle_stage", "value_tier",
			"tags", "membership_tier", "external_id", "revision", "create_time", "update_time", "pii"},
		pgx.CopyFromSlice(len(customers), func(i int) ([]any, error) {
			c := customers[i]
			// Contacts are stored as blind indexes (32 hex digits) and
			// sealed with the rest of the personal fields: stand-ins of
			// the same shapes.
			return []any{uuidOf(i), "PERSON", c.name, []string{standIn(c.email, 16)}, []string{standIn(c.phone, 16)}, c.company, "IMPORT", c.stage, c.tier,
				c.tags, "BASIC", c.externalID, int64(1), now, now, []byte(standIn(c.email+c.phone, 64))}, nil
		}))
	if err != nil {
		return 0, err
	}
	return float64(n) / time.Since(start).Seconds(), nil
}

// standIn is n bytes derived from s, hex-encoded: shaped like a blind
// index or a sealed value, and as distinct as s.
func standIn(s string, n int) string {
	sum := sha512.Sum512([]byte(s))
	return hex.EncodeToString(sum[:n])
}

// indexCostNote renders the index costs as a Markdown table: each index's
// rows per second alone, and the time it adds to loading the customers
// over none, also as a share of what all of them add.
func indexCostNote(costs []indexCost, rows int) string {
	var none, all float64
	for _, c := range costs {
		switch c.name {
		case "none":
			none = c.rate
		case "all":
			all = c.rate
		}
	}
	ms := func(rate float64) float64 { return float64(rows) / rate * 1000 }
	var s strings.Builder
	fmt.Fprintf(&s, "What each index of `customer.customers` costs a bulk load: pgx CopyFrom of the %d customers into a copy of the table with no index, with each index alone and with all of them (medians of interleaved rounds; the limit above copies fewer columns into an unlogged table):\n\n", rows)
	fmt.Fprintf(&s, "| indexes | rows/s | ms | ms over none | share of what all add |\n|---|---|---|---|---|\n")
	for _, c := range costs {
		extra := ms(c.rate) - ms(none)
		share := "–"
		if c.name != "none" && c.name != "all" {
			share = fmt.Sprintf("%.0f %%", 100*extra/(ms(all)-ms(none)))
		}
		fmt.Fprintf(&s, "| %s | %.0f | %.0f | %+.0f | %s |\n", c.name, c.rate, ms(c.rate), extra, share)
	}
	return s.String()
}
