package leader

import (
	"context"
	"io"
	"log/slog"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/kehu-crm/kehu/pkg/testdb"
)

// TestOneLeaderAtATime runs three contenders for one lock: exactly one
// works at any moment, and when it steps down another takes over.
func TestOneLeaderAtATime(t *testing.T) {
	url := testdb.New(t)
	pool, err := pgxpool.New(context.Background(), url)
	if err != nil {
		t.Fatal(err)
	}
	defer pool.Close()
	logger := slog.New(slog.NewTextHandler(io.Discard, nil))

	var active, maxActive, terms atomic.Int32
	stepDown := make(chan struct{}, 3)
	work := func(ctx context.Context) {
		terms.Add(1)
		n := active.Add(1)
		for {
			if m := maxActive.Load(); n <= m || maxActive.CompareAndSwap(m, n) {
				break
			}
		}
		defer active.Add(-1)
		select {
		case <-ctx.Done():
		case <-stepDown:
		}
	}
	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	for range 3 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			Run(ctx, pool, "leader-test", logger, work, Options{Retry: 20 * time.Millisecond, Check: 20 * time.Millisecond})
		}()
	}
	waitFor(t, func() bool { return terms.Load() == 1 })
	// The leader steps down; a successor (maybe the same process) follows.
	stepDown <- struct{}{}
	waitFor(t, func() bool { return terms.Load() == 2 })
	stepDown <- struct{}{}
	waitFor(t, func() bool { return terms.Load() == 3 })
	cancel()
	wg.Wait()
	if m := maxActive.Load(); m != 1 {
		t.Fatalf("%d leaders worked at the same time", m)
	}
}

func waitFor(t *testing.T, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatal("condition not reached")
		}
		time.Sleep(5 * time.Millisecond)
	}
}
