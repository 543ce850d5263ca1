package outbox

import (
	"context"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/kehu-crm/kehu/pkg/pg"
)

// pruneBatch bounds one pruning transaction, so a large backlog never
// holds the outbox for long.
const pruneBatch = 5000

// Prune deletes the events created before cutoff, oldest first, and
// records the highest pruned sequence in the same transaction, so that
// Stream can tell a consumer behind it that it missed events. Only a
// prefix of the sequence is ever pruned: an event older than cutoff that
// follows a newer one (clock skew between writers) waits for the next run.
func Prune(ctx context.Context, pool *pgxpool.Pool, cutoff time.Time) (int64, error) {
	var total int64
	for {
		var n int64
		err := pg.InTx(ctx, pool, pgx.ReadCommitted, func(tx pgx.Tx) error {
			var through *int64
			err := tx.QueryRow(ctx, `
				WITH head AS (
					SELECT sequence, create_time < $1 AS old FROM outbox ORDER BY sequence LIMIT $2
				)
				SELECT max(sequence) FROM head
				WHERE old AND sequence < coalesce((SELECT min(sequence) FROM head WHERE NOT old), 9223372036854775807)`,
				cutoff, pruneBatch).Scan(&through)
			if err != nil || through == nil {
				return err
			}
			tag, err := tx.Exec(ctx, `DELETE FROM outbox WHERE sequence <= $1`, *through)
			if err != nil {
				return err
			}
			n = tag.RowsAffected()
			_, err = tx.Exec(ctx, `UPDATE outbox_retention SET pruned_through = greatest(pruned_through, $1)`, *through)
			return err
		})
		if err != nil {
			return total, err
		}
		total += n
		if n < pruneBatch {
			return total, nil
		}
	}
}
