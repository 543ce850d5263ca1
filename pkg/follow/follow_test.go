package follow

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	eventv1 "github.com/kehu-crm/kehu/pkg/api/kehu/event/v1"
)

// queued is a stream of n events already waiting, then fail.
type queued struct {
	next, n int64
	fail    error
}

func (q *queued) Recv() (*eventv1.Event, error) {
	if q.next == q.n {
		return nil, q.fail
	}
	q.next++
	return &eventv1.Event{Sequence: q.next}, nil
}

// recorder applies events, remembering each batch.
type recorder struct {
	mu      sync.Mutex
	batches [][]int64
}

func (r *recorder) Cursor(context.Context) (int64, error) { return 0, nil }

func (r *recorder) Apply(_ context.Context, events []*eventv1.Event) error {
	seqs := make([]int64, len(events))
	for i, e := range events {
		seqs[i] = e.GetSequence()
	}
	r.mu.Lock()
	r.batches = append(r.batches, seqs)
	r.mu.Unlock()
	time.Sleep(time.Millisecond) // a commit
	return nil
}

// TestFollowerBatchesWhatArrived: a follower that is behind applies the
// events that have arrived in batches of at most MaxBatch, in order, none
// lost or repeated, and still applies those received before the stream
// broke.
func TestFollowerBatchesWhatArrived(t *testing.T) {
	const n = 3000
	broken := errors.New("connection reset")
	rec := &recorder{}
	f := New("test_events", func(context.Context, int64) (Stream, error) {
		return &queued{n: n, fail: broken}, nil
	}, rec, slog.New(slog.NewJSONHandler(io.Discard, nil)), prometheus.NewRegistry())
	if err := f.follow(context.Background()); !errors.Is(err, broken) {
		t.Fatalf("follow ended with %v, want the stream's error", err)
	}
	var want int64 = 1
	for _, b := range rec.batches {
		if len(b) > MaxBatch {
			t.Fatalf("a batch of %d events", len(b))
		}
		for _, seq := range b {
			if seq != want {
				t.Fatalf("applied %d, want %d", seq, want)
			}
			want++
		}
	}
	if want != n+1 {
		t.Fatalf("applied %d of %d events", want-1, n)
	}
	if len(rec.batches) >= n/10 {
		t.Errorf("%d transactions for %d waiting events: not batched", len(rec.batches), n)
	}
}
