package store

import (
	"context"

	"github.com/jackc/pgx/v5"

	"github.com/kehu-crm/kehu/pkg/pg"
)

// ReturnCustomerRecords implements interaction.Tx: the records whose latest
// move went from restored to survivor go back to restored, and those moves
// are forgotten, so an earlier merge in a chain can be reversed in turn.
func (t *tx) ReturnCustomerRecords(ctx context.Context, survivor, restored string) (int64, int64, error) {
	rows, err := t.tx.Query(ctx, `
		DELETE FROM record_moves m
		WHERE m.to_customer = $1 AND m.from_customer = $2
		  AND m.move_sequence = (SELECT max(l.move_sequence) FROM record_moves l
		                         WHERE l.record_kind = m.record_kind AND l.record_id = m.record_id)
		RETURNING m.record_kind, m.record_id::text`, survivor, restored)
	type move struct{ kind, id string }
	moves, err := pg.Collect(rows, err, func(r pgx.Row) (move, error) {
		var m move
		return m, r.Scan(&m.kind, &m.id)
	})
	if err != nil {
		return 0, 0, err
	}
	var interactions, followUps []string
	for _, m := range moves {
		if m.kind == "interaction" {
			interactions = append(interactions, m.id)
		} else {
			followUps = append(followUps, m.id)
		}
	}
	ti, err := t.tx.Exec(ctx, `UPDATE interactions SET customer_id = $2 WHERE id = ANY($3::uuid[]) AND customer_id = $1`,
		survivor, restored, interactions)
	if err != nil {
		return 0, 0, pg.Classify(err)
	}
	tf, err := t.tx.Exec(ctx, `UPDATE follow_ups SET customer_id = $2 WHERE id = ANY($3::uuid[]) AND customer_id = $1`,
		survivor, restored, followUps)
	if err != nil {
		return 0, 0, pg.Classify(err)
	}
	_, err = t.tx.Exec(ctx, `UPDATE customers SET merged_into = NULL, deleted = false WHERE id = $1`, restored)
	return ti.RowsAffected(), tf.RowsAffected(), pg.Classify(err)
}
