package customerref

import (
	"context"
	"slices"
	"testing"
)

type fakeCursor struct {
	at   int64
	sets int
}

func (f *fakeCursor) Cursor(context.Context, string) (int64, error) { return f.at, nil }

func (f *fakeCursor) SetCursor(_ context.Context, _ string, seq int64) error {
	f.at, f.sets = seq, f.sets+1
	return nil
}

// TestApplyNew: a redelivered batch applies only what is past the cursor,
// in order, and moves the cursor once, to the last; nothing new, no write.
func TestApplyNew(t *testing.T) {
	tx := &fakeCursor{at: 3}
	var applied []int64
	apply := func(_ context.Context, _ *fakeCursor, e Event) error {
		applied = append(applied, e.Sequence)
		return nil
	}
	batch := []Event{{Sequence: 2}, {Sequence: 3}, {Sequence: 4}, {Sequence: 5}}
	if err := ApplyNew(context.Background(), tx, "customer", batch, apply); err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(applied, []int64{4, 5}) || tx.at != 5 || tx.sets != 1 {
		t.Fatalf("applied %v, cursor %d after %d writes", applied, tx.at, tx.sets)
	}
	if err := ApplyNew(context.Background(), tx, "customer", batch, apply); err != nil {
		t.Fatal(err)
	}
	if len(applied) != 2 || tx.sets != 1 {
		t.Fatalf("a redelivered batch applied %v and wrote the cursor %d times", applied, tx.sets)
	}
}
