// Package cursor stores, in a service's own schema, how far the service
// has applied each event stream it follows (see package follow): read and
// advanced inside the transaction of the events' effects, so a crash never
// loses an event or applies one twice.
package cursor

import (
	"context"
	"embed"
	"errors"

	"github.com/jackc/pgx/v5"

	"github.com/kehu-crm/kehu/pkg/pg"
)

//go:embed migrations/*.sql
var migrationFiles embed.FS

// Migrations create the consumer_cursors table in a service's schema.
var Migrations = pg.Source{Name: "cursors", FS: pg.Sub(migrationFiles, "migrations")}

// Get returns the last sequence applied of stream (0 before the first);
// lock holds the row for the rest of tx, so concurrent appliers take turns.
func Get(ctx context.Context, q pg.Querier, stream string, lock bool) (int64, error) {
	sql := `SELECT sequence FROM consumer_cursors WHERE stream = $1`
	if lock {
		sql += ` FOR UPDATE`
	}
	var seq int64
	err := q.QueryRow(ctx, sql, stream).Scan(&seq)
	if errors.Is(err, pgx.ErrNoRows) {
		return 0, nil
	}
	return seq, pg.Classify(err)
}

// Set moves the cursor of stream to sequence.
func Set(ctx context.Context, tx pgx.Tx, stream string, sequence int64) error {
	_, err := tx.Exec(ctx, `INSERT INTO consumer_cursors (stream, sequence, update_time) VALUES ($1, $2, now())
		ON CONFLICT (stream) DO UPDATE SET sequence = excluded.sequence, update_time = now()`, stream, sequence)
	return pg.Classify(err)
}
