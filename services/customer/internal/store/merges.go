package store

import (
	"context"
	"encoding/json"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/kehu-crm/kehu/pkg/errs"
	"github.com/kehu-crm/kehu/pkg/pg"
	"github.com/kehu-crm/kehu/services/customer/internal/customer"
)

// snapshots are both sides of a merge as they were, sealed together in
// the merges row: they hold both customers' personal fields.
type snapshots struct {
	Merged   *customer.Customer `json:"merged"`
	Survivor *customer.Customer `json:"survivor"`
}

func snapshotsAD(mergedID string) []byte { return []byte("customer.merges.snapshots/" + mergedID) }

func (k *Crypto) sealSnapshots(mergedID string, merged, survivor *customer.Customer) ([]byte, error) {
	plain, err := json.Marshal(snapshots{Merged: merged, Survivor: survivor})
	if err != nil {
		return nil, errs.Internal(fmt.Errorf("encoding merge snapshots: %w", err))
	}
	return k.keys.Seal(plain, snapshotsAD(mergedID)), nil
}

// InsertMerge implements customer.Tx.
func (t *tx) InsertMerge(ctx context.Context, m *customer.MergeRecord) error {
	sealed, err := t.crypto.sealSnapshots(m.MergedID, m.MergedBefore, m.SurvivorBefore)
	if err != nil {
		return err
	}
	_, err = t.tx.Exec(ctx, `
		INSERT INTO merges (merged_id, survivor_id, snapshots, points, actor, create_time)
		VALUES ($1, $2, $3, $4, $5, $6)
		ON CONFLICT (merged_id) DO UPDATE SET survivor_id = EXCLUDED.survivor_id,
			snapshots = EXCLUDED.snapshots, merged_before = NULL, survivor_before = NULL,
			points = EXCLUDED.points, actor = EXCLUDED.actor, create_time = EXCLUDED.create_time`,
		m.MergedID, m.SurvivorID, sealed, m.Points, m.Actor, m.CreateTime)
	return pg.Classify(err)
}

// TakeMerge implements customer.Tx.
func (t *tx) TakeMerge(ctx context.Context, mergedID string) (*customer.MergeRecord, error) {
	row := t.tx.QueryRow(ctx, `
		DELETE FROM merges WHERE merged_id = $1::uuid
		RETURNING merged_id::text, survivor_id::text, merged_before, survivor_before, snapshots, points, actor, create_time`, mergedID)
	return pg.One(row, func(r pgx.Row) (*customer.MergeRecord, error) {
		var (
			m      customer.MergeRecord
			sealed []byte
		)
		if err := r.Scan(&m.MergedID, &m.SurvivorID, &m.MergedBefore, &m.SurvivorBefore, &sealed, &m.Points, &m.Actor, &m.CreateTime); err != nil {
			return nil, err
		}
		m.CreateTime = m.CreateTime.UTC()
		if sealed == nil { // written before snapshots were sealed
			return &m, nil
		}
		plain, err := t.crypto.keys.Open(ctx, sealed, snapshotsAD(m.MergedID))
		if err != nil {
			return nil, errs.Internal(fmt.Errorf("opening the snapshots of merge %s: %w", m.MergedID, err))
		}
		var s snapshots
		if err := json.Unmarshal(plain, &s); err != nil {
			return nil, errs.Internal(fmt.Errorf("decoding the snapshots of merge %s: %w", m.MergedID, err))
		}
		m.MergedBefore, m.SurvivorBefore = s.Merged, s.Survivor
		return &m, nil
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
