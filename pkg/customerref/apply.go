package customerref

import "context"

// CursorTx is the part of a consumer's transaction that keeps its place in
// a stream.
type CursorTx interface {
	Cursor(ctx context.Context, stream string) (int64, error)
	SetCursor(ctx context.Context, stream string, sequence int64) error
}

// ApplyNew applies, inside tx, the events of stream after its cursor, in
// order, and moves the cursor to the last of them: each event takes
// effect exactly once, however often it is delivered.
func ApplyNew[T CursorTx](ctx context.Context, tx T, stream string, events []Event, apply func(context.Context, T, Event) error) error {
	cur, err := tx.Cursor(ctx, stream)
	if err != nil {
		return err
	}
	last := cur
	for _, e := range events {
		if e.Sequence <= last {
			continue
		}
		if err := apply(ctx, tx, e); err != nil {
			return err
		}
		last = e.Sequence
	}
	if last == cur {
		return nil
	}
	return tx.SetCursor(ctx, stream, last)
}
