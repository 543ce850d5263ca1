// Package erased closes the gap between a service looking a customer up
// and storing records for them: the customer service may purge the
// customer in between, and the service's follower may erase the
// customer's records before the new ones commit, which then outlive the
// erasure. The follower records the erasure (Record) and every insert of
// records about a customer checks it (Check); both take the same
// per-customer advisory lock, exclusive and shared, so an insert either
// commits before the erasure (which then deletes it) or sees the record
// and is refused. Both run at READ COMMITTED, where the statement after
// the lock sees what committed while waiting for it.
package erased

import (
	"context"
	"embed"
	"slices"
	"strings"

	"github.com/jackc/pgx/v5"

	"github.com/kehu-crm/kehu/pkg/customerref"
	"github.com/kehu-crm/kehu/pkg/errs"
	"github.com/kehu-crm/kehu/pkg/pg"
)

//go:embed migrations/*.sql
var migrationFiles embed.FS

// Migrations create the erased_customers table in a service's schema.
var Migrations = pg.Source{Name: "erased", FS: pg.Sub(migrationFiles, "migrations")}

// lockKey is per schema: two services' followers do not wait on each other.
const lockKey = `hashtextextended(current_schema() || '.erased_customers/' || $1, 0)`

// Record notes, in the erasure's transaction, that customerID was erased,
// after any insert about them in progress has committed.
func Record(ctx context.Context, tx pgx.Tx, customerID string) error {
	if _, err := tx.Exec(ctx, `SELECT pg_advisory_xact_lock(`+lockKey+`)`, customerID); err != nil {
		return pg.Classify(err)
	}
	_, err := tx.Exec(ctx, `INSERT INTO erased_customers (id) VALUES ($1) ON CONFLICT DO NOTHING`, customerID)
	return pg.Classify(err)
}

// Check refuses, in the transaction of an insert about customerIDs, a
// customer already erased, and holds off their erasure until tx ends.
func Check(ctx context.Context, tx pgx.Tx, customerIDs ...string) error {
	gone, err := Which(ctx, tx, customerIDs)
	if err != nil || len(gone) == 0 {
		return err
	}
	return errs.New(errs.KindNotFound, "CUSTOMER_NOT_FOUND", "customer %s does not exist", customerref.Name(gone[0])).
		WithMetadata("customer", customerref.Name(gone[0]))
}

// Which returns, in the transaction of a write about customerIDs, those
// already erased, and holds off the erasure of the others until tx ends.
// The locks are taken in id order, so two writers about overlapping
// customers cannot deadlock with an erasure.
func Which(ctx context.Context, tx pgx.Tx, customerIDs []string) ([]string, error) {
	ids := slices.Compact(slices.Sorted(slices.Values(customerIDs)))
	// One statement for every lock: a bulk import names thousands of
	// customers. The sort runs before the (volatile) lock calls.
	if _, err := tx.Exec(ctx, `SELECT pg_advisory_xact_lock_shared(`+strings.ReplaceAll(lockKey, "$1", "id")+`)
		FROM unnest($1::text[]) AS id ORDER BY id COLLATE "C"`, ids); err != nil {
		return nil, pg.Classify(err)
	}
	rows, err := tx.Query(ctx, `SELECT id::text FROM erased_customers WHERE id = ANY($1::uuid[]) ORDER BY id`, ids)
	return pg.Collect(rows, err, func(r pgx.Row) (string, error) {
		var id string
		return id, r.Scan(&id)
	})
}
