package insight

import (
	"context"
	"fmt"
)

// Snapshot yields a source's current state as the events the read model
// would have made of it (without sequences).
type Snapshot func(ctx context.Context, yield func(Event) error) error

// resyncBatch is how many customers' cached answers one step drops.
const resyncBatch = 10_000

// Resync rebuilds what source contributed to the read model from a
// snapshot of the source, for when the events it still needed were
// pruned: in one transaction, the source's part is reset, the snapshot
// applied and the cursor moved to after, so following resumes at the
// oldest event the source keeps (replaying those over the snapshot is
// idempotent), every segment re-evaluated and the dashboards' rollups
// rebuilt; then every cached answer is dropped, since any customer may
// have changed.
func (s *Service) Resync(ctx context.Context, source string, after int64, snapshot Snapshot) error {
	err := s.store.InTx(ctx, func(ctx context.Context, tx Tx) error {
		// Alone from the start: the snapshot and the evaluation must not
		// interleave with other streams' events.
		if err := tx.LockEvaluation(ctx); err != nil {
			return err
		}
		if err := tx.ResetSource(ctx, source); err != nil {
			return err
		}
		err := snapshot(ctx, func(e Event) error { return s.apply(ctx, tx, e) })
		if err != nil {
			return fmt.Errorf("snapshot of %s: %w", source, err)
		}
		if _, err := evaluateAll(ctx, tx, func([]Change) {}); err != nil {
			return err
		}
		if err := tx.RebuildRollups(ctx); err != nil {
			return err
		}
		return tx.SetCursor(ctx, source, after)
	})
	if err != nil {
		return err
	}
	return s.invalidateEveryone(ctx)
}

// invalidateEveryone drops every customer's cached answer, a page of
// customers at a time.
func (s *Service) invalidateEveryone(ctx context.Context) error {
	for last := ""; ; {
		ids, err := s.store.CustomerIDs(ctx, last, resyncBatch)
		if err != nil {
			return err
		}
		s.cache.Invalidate(ctx, ids...)
		if len(ids) < resyncBatch {
			return nil
		}
		last = ids[len(ids)-1]
	}
}
