package app

import (
	"context"
	"testing"

	"github.com/jackc/pgx/v5"
)

// TestLargeImportRefreshesStatistics: after a bulk load the planner knows
// the table's new size (autovacuum may be off: on this project's test
// machines it is), so filtered lists walk an index rather than scanning
// every customer on a plan made for an empty table.
func TestLargeImportRefreshesStatistics(t *testing.T) {
	t.Parallel()
	e := start(t)
	seed(t, e, 1500)
	conn, err := pgx.Connect(context.Background(), e.dbURL)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(context.Background())
	var estimate float64
	if err := conn.QueryRow(context.Background(), `SELECT reltuples FROM pg_class WHERE oid = 'customer.customers'::regclass`).Scan(&estimate); err != nil {
		t.Fatal(err)
	}
	if estimate < 1400 {
		t.Errorf("the planner estimates %.0f customers after importing 1,500", estimate)
	}
}
