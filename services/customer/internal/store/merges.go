package store

import (
	"context"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/kehu-crm/kehu/pkg/pg"
	"github.com/kehu-crm/kehu/services/customer/internal/customer"
)

// InsertMerge implements customer.Tx.
func (t *tx) InsertMerge(ctx context.Context, m *customer.MergeRecord) error {
	_, err := t.tx.Exec(ctx, `
		INSERT INTO merges (merged_id, survivor_id, merged_before, survivor_before, points, actor, create_time)
		VALUES ($1, $2, $3, $4, $5, $6, $7)
		ON CONFLICT (merged_id) DO UPDATE SET survivor_id = EXCLUDED.survivor_id,
			merged_before = EXCLUDED.merged_before, survivor_before = EXCLUDED.survivor_before,
			points = EXCLUDED.points, actor = EXCLUDED.actor, create_time = EXCLUDED.create_time`,
		m.MergedID, m.SurvivorID, m.MergedBefore, m.SurvivorBefore, m.Points, m.Actor, m.CreateTime)
	return pg.Classify(err)
}

// TakeMerge implements customer.Tx.
func (t *tx) TakeMerge(ctx context.Context, mergedID string) (*customer.MergeRecord, error) {
	row := t.tx.QueryRow(ctx, `
		DELETE FROM merges WHERE merged_id = $1::uuid
		RETURNING merged_id::text, survivor_id::text, merged_before, survivor_before, points, actor, create_time`, mergedID)
	return pg.One(row, func(r pgx.Row) (*customer.MergeRecord, error) {
		var m customer.MergeRecord
		err := r.Scan(&m.MergedID, &m.SurvivorID, &m.MergedBefore, &m.SurvivorBefore, &m.Points, &m.Actor, &m.CreateTime)
		m.CreateTime = m.CreateTime.UTC()
		return &m, err
	}, customer.Name(mergedID))
}

// Unmark implements customer.Tx.
func (t *tx) Unmark(ctx context.Context, restored *customer.Customer, survivorID string) (int64, error) {
	var revision int64
	if err := t.tx.QueryRow(ctx, `UPDATE customers SET merged_into = NULL WHERE id = $1::uuid RETURNING revision`,
		restored.ID).Scan(&revision); err != nil {
		return 0, pg.Classify(err)
	}
	_, err := t.tx.Exec(ctx, `UPDATE customers SET merged_into = $1::uuid WHERE id = ANY($2::uuid[]) AND merged_into = $3::uuid`,
		restored.ID, restored.MergedIDs, survivorID)
	return revision, pg.Classify(err)
}

// PruneMerges forgets merges older than the unmerge window: they can no
// longer be reversed, and the snapshots hold personal data.
func (s *Store) PruneMerges(ctx context.Context, before time.Time) (int64, error) {
	tag, err := s.pool.Exec(ctx, `DELETE FROM merges WHERE create_time < $1`, before)
	return tag.RowsAffected(), pg.Classify(err)
}
