package cache

import (
	"context"
	"fmt"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
	dto "github.com/prometheus/client_model/go"
)

func itoa(n int) ([]byte, error) { return []byte(strconv.Itoa(n)), nil }
func atoi(b []byte) (int, error) { return strconv.Atoi(string(b)) }

// replicas returns n two-tier caches sharing one Redis namespace, as n
// replicas of a service would, each with its subscription running.
func replicas(t *testing.T, n int, localTTL time.Duration) []*Near[int] {
	t.Helper()
	prefix := "kehu-test:" + uuid.NewString() + ":"
	key := RandomKey() // replicas share their cache key, as deployed ones do
	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	out := make([]*Near[int], n)
	for i := range out {
		// A generous operation timeout: these tests assert what reached
		// Redis, and on a loaded machine the default 100 ms drops writes.
		c, err := New(Config{URL: redisURL(), Prefix: prefix, Keys: [][]byte{key}, OpTimeout: 5 * time.Second}, prometheus.NewRegistry())
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { _ = c.Close() })
		near, err := NewNear(c, NearConfig{Name: "test", TTL: time.Minute, LocalTTL: localTTL}, itoa, atoi, prometheus.NewRegistry())
		if err != nil {
			t.Fatal(err)
		}
		wg.Add(1)
		go func() { defer wg.Done(); near.Run(ctx) }()
		out[i] = near
	}
	t.Cleanup(func() { cancel(); wg.Wait() }) // before the clients close (cleanups run last-in first)
	for _, near := range out {
		waitFor(t, "subscription", near.coherent.Load)
	}
	return out
}

func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	for deadline := time.Now().Add(10 * time.Second); !cond(); time.Sleep(time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
	}
}

// TestNearServesFromMemory: the second lookup of a key is answered by the
// process without Redis or the loader.
func TestNearServesFromMemory(t *testing.T) {
	t.Parallel()
	r := replicas(t, 1, time.Minute)[0]
	ctx := context.Background()
	var loads atomic.Int32
	load := func(context.Context) (int, error) { loads.Add(1); return 7, nil }
	for range 3 {
		if v, err := r.Get(ctx, "k", load); err != nil || v != 7 {
			t.Fatalf("Get = %v, %v", v, err)
		}
	}
	if loads.Load() != 1 {
		t.Fatalf("loaded %d times, want 1", loads.Load())
	}
	if hits := testutil.ToFloat64(r.local.WithLabelValues("hit")); hits != 2 {
		t.Fatalf("local hits = %v, want 2", hits)
	}
	if redisGets := testutil.ToFloat64(r.redis.ops.WithLabelValues("get", "miss")) + testutil.ToFloat64(r.redis.ops.WithLabelValues("get", "hit")); redisGets != 1 {
		t.Fatalf("Redis lookups = %v, want 1", redisGets)
	}
}

// TestNearCoherentAcrossReplicas is the coherence test: three replicas
// hold a key in memory; one writes and invalidates; every replica's next
// lookup after the invalidation has propagated sees the new value, and the
// delay is measured. It fails if invalidations are not published (the
// other replicas would serve the old value for LocalTTL, here an hour).
func TestNearCoherentAcrossReplicas(t *testing.T) {
	t.Parallel()
	rs := replicas(t, 3, time.Hour)
	ctx := context.Background()
	var truth atomic.Int64
	load := func(context.Context) (int, error) { return int(truth.Load()), nil }
	var worst time.Duration
	for round := 1; round <= 50; round++ {
		for _, r := range rs { // every replica caches the current value
			if v, _ := r.Get(ctx, "k", load); v != round-1 {
				t.Fatalf("round %d: replica read %d before the write", round, v)
			}
		}
		writer := rs[round%len(rs)]
		truth.Store(int64(round)) // the commit ...
		start := time.Now()
		writer.Invalidate(ctx, "k") // ... then the invalidation
		if v, _ := writer.Get(ctx, "k", load); v != round {
			t.Fatalf("round %d: the writer read %d after its own write", round, v)
		}
		for _, r := range rs {
			waitFor(t, "the invalidation to reach every replica", func() bool {
				v, _ := r.Get(ctx, "k", load)
				return v == round
			})
		}
		worst = max(worst, time.Since(start))
	}
	// A replica records a message's delay just after dropping its keys,
	// so the last round's may still be on its way.
	observed := func() uint64 {
		var n uint64
		for _, r := range rs {
			var m dto.Metric
			if err := r.delay.Write(&m); err != nil {
				t.Fatal(err)
			}
			n += m.GetHistogram().GetSampleCount()
		}
		return n
	}
	waitFor(t, "every replica to record every round's invalidation delay", func() bool { return observed() >= 3*50 })
	t.Logf("worst coherence delay over 50 rounds × 3 replicas: %s", worst)
}

// TestNearSlowReaderCannotKeepAnOldValue interleaves, on one replica, a
// lookup that read the old value with another replica's invalidation
// arriving before the lookup stores it in memory: the old value must not
// be kept.
func TestNearSlowReaderCannotKeepAnOldValue(t *testing.T) {
	t.Parallel()
	rs := replicas(t, 2, time.Hour)
	reader, writer := rs[0], rs[1]
	ctx := context.Background()
	release := make(chan struct{})
	loaded := make(chan struct{})
	done := make(chan int)
	go func() { // the reader loads the old value and stalls before storing it
		v, _ := reader.Get(ctx, "k", func(context.Context) (int, error) {
			close(loaded)
			<-release
			return 1, nil
		})
		done <- v
	}()
	<-loaded
	seq := func() uint64 {
		s := reader.shard("k")
		s.mu.Lock()
		defer s.mu.Unlock()
		return s.seq
	}
	before := seq()
	writer.Invalidate(ctx, "k") // the write commits value 2 meanwhile
	waitFor(t, "the invalidation to reach the reader", func() bool { return seq() > before })
	close(release)
	if v := <-done; v != 1 {
		t.Fatalf("stalled read returned %d", v)
	}
	if v, _ := reader.Get(ctx, "k", func(context.Context) (int, error) { return 2, nil }); v != 2 {
		t.Fatalf("the next read got %d from memory, want the new value 2", v)
	}
}

// TestNearWithoutRedis: with Redis unreachable every lookup is answered by
// the loader, the in-process tier is bypassed (it could miss
// invalidations), and the bypass is counted.
func TestNearWithoutRedis(t *testing.T) {
	t.Parallel()
	c, err := New(Config{URL: "redis://127.0.0.1:1/0"}, prometheus.NewRegistry())
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	near, err := NewNear(c, NearConfig{Name: "test", TTL: time.Minute, LocalTTL: time.Hour}, itoa, atoi, prometheus.NewRegistry())
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go near.Run(ctx)
	var loads atomic.Int32
	for i := range 3 {
		v, err := near.Get(ctx, "k", func(context.Context) (int, error) { loads.Add(1); return i, nil })
		if err != nil || v != i {
			t.Fatalf("Get = %v, %v; want %d from the loader", v, err, i)
		}
	}
	if got := testutil.ToFloat64(near.local.WithLabelValues("bypass")); got != 3 {
		t.Fatalf("bypasses = %v, want 3", got)
	}
	if near.coherent.Load() {
		t.Fatal("in-process tier serving without a subscription")
	}
	near.Invalidate(ctx, "k") // must not block or panic
}

// TestNearManyKeysFlushEverything: an invalidation of more keys than one
// message carries empties the other replicas' memory.
func TestNearManyKeysFlushEverything(t *testing.T) {
	t.Parallel()
	rs := replicas(t, 2, time.Hour)
	ctx := context.Background()
	load := func(context.Context) (int, error) { return 1, nil }
	for i := range 10 {
		_, _ = rs[0].Get(ctx, fmt.Sprint(i), load)
	}
	keys := make([]string, maxPublishKeys+1)
	for i := range keys {
		keys[i] = fmt.Sprint(i)
	}
	rs[1].Invalidate(ctx, keys...)
	waitFor(t, "the flush", func() bool { return rs[0].size() == 0 })
}

// TestNearGetMany: a batch answers each key from the nearest tier that
// has it, loads only what no tier had (in one call), fills the tiers, and
// sees other replicas' invalidations like Get does.
func TestNearGetMany(t *testing.T) {
	t.Parallel()
	rs := replicas(t, 2, time.Hour)
	ctx := context.Background()
	truth := map[string]int{"a": 1, "b": 2, "c": 3}
	var mu sync.Mutex
	var asked [][]string
	loadMany := func(_ context.Context, keys []string) (map[string]int, error) {
		mu.Lock()
		defer mu.Unlock()
		asked = append(asked, keys)
		out := map[string]int{}
		for _, k := range keys {
			out[k] = truth[k]
		}
		return out, nil
	}
	one := func(k string) func(context.Context) (int, error) {
		return func(context.Context) (int, error) { return truth[k], nil }
	}
	_, _ = rs[0].Get(ctx, "a", one("a")) // a: in replica 1's memory (and Redis)
	_, _ = rs[1].Get(ctx, "b", one("b")) // b: in Redis only, as far as replica 1 knows
	got, err := rs[0].GetMany(ctx, []string{"a", "b", "c", "a"}, loadMany)
	if err != nil || fmt.Sprint(got) != "[1 2 3 1]" {
		t.Fatalf("GetMany = %v, %v", got, err)
	}
	if fmt.Sprint(asked) != "[[c]]" {
		t.Fatalf("loaded %v, want only [c]", asked)
	}
	if hits := testutil.ToFloat64(rs[0].local.WithLabelValues("hit")); hits != 2 {
		t.Fatalf("memory hits = %v, want 2 (both a's)", hits)
	}
	// Everything is near now; a write on the other replica is seen.
	mu.Lock()
	truth["b"] = 20
	mu.Unlock()
	rs[1].Invalidate(ctx, "b")
	waitFor(t, "the new b", func() bool {
		got, err := rs[0].GetMany(ctx, []string{"a", "b", "c"}, loadMany)
		return err == nil && fmt.Sprint(got) == "[1 20 3]"
	})
	if fmt.Sprint(asked) != "[[c] [b]]" {
		t.Fatalf("loaded %v, want c then b", asked)
	}
}

// TestNearJoinedLoadCannotKeepAnOldValue: a lookup that starts after an
// invalidation but joins a load begun before it gets the old value (it is
// what the database said when that load read) and must not keep it in
// memory.
func TestNearJoinedLoadCannotKeepAnOldValue(t *testing.T) {
	t.Parallel()
	r := replicas(t, 1, time.Hour)[0]
	ctx := context.Background()
	started, release := make(chan struct{}), make(chan struct{})
	first := make(chan int)
	go func() {
		v, _ := r.Get(ctx, "k", func(context.Context) (int, error) {
			close(started)
			<-release
			return 1, nil // read before the write below
		})
		first <- v
	}()
	<-started
	r.Invalidate(ctx, "k") // the write commits 2
	second := make(chan int)
	go func() {
		v, _ := r.Get(ctx, "k", func(context.Context) (int, error) { return 2, nil })
		second <- v
	}()
	time.Sleep(200 * time.Millisecond) // the second lookup joins the load in flight
	close(release)
	<-first
	<-second
	if v, _ := r.Get(ctx, "k", func(context.Context) (int, error) { return 2, nil }); v != 2 {
		t.Fatalf("memory kept %d from a load that began before the write", v)
	}
}
