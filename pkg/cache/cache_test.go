package cache

import (
	"context"
	"os"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
)

func redisURL() string {
	if u := os.Getenv("KEHU_REDIS_URL"); u != "" {
		return u
	}
	return "redis://127.0.0.1:6379/0"
}

func newTestCache(t *testing.T) *Cache {
	t.Helper()
	c, err := New(Config{URL: redisURL(), Prefix: "kehu-test:" + uuid.NewString() + ":"}, prometheus.NewRegistry())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = c.Close() })
	if err := c.Ping(context.Background()); err != nil {
		t.Fatalf("Redis must be reachable for this test: %v", err)
	}
	return c
}

func TestRoundTrip(t *testing.T) {
	c := newTestCache(t)
	ctx := context.Background()
	_, ticket, ok := c.Lookup(ctx, "k")
	if ok {
		t.Fatal("hit on an empty cache")
	}
	c.Fill(ctx, ticket, []byte("v"), time.Minute)
	if b, _, ok := c.Lookup(ctx, "k"); !ok || string(b) != "v" {
		t.Fatalf("Lookup = %q, %v", b, ok)
	}
	c.Invalidate(ctx, "k")
	if _, _, ok := c.Lookup(ctx, "k"); ok {
		t.Fatal("hit after Invalidate")
	}
	if n := testutil.ToFloat64(c.ops.WithLabelValues("get", "hit")); n != 1 {
		t.Fatalf("hits = %v", n)
	}
}

// TestSlowReaderCannotRefillAfterAWrite interleaves a reader that misses
// and loads the old row with a writer that commits and invalidates before
// the reader fills: the old row must not come back into the cache, even
// when the writer's client has already hung up (cancelled context).
func TestSlowReaderCannotRefillAfterAWrite(t *testing.T) {
	c := newTestCache(t)
	ctx := context.Background()
	c.Invalidate(ctx, "k")              // the key was written before: it has a generation
	_, ticket, ok := c.Lookup(ctx, "k") // reader misses ...
	if ok {
		t.Fatal("hit")
	}
	gone, cancel := context.WithCancel(ctx)
	cancel()
	c.Invalidate(gone, "k")                         // ... the writer commits and invalidates ...
	c.Fill(ctx, ticket, []byte("old"), time.Minute) // ... and the reader fills what it read before
	if b, _, ok := c.Lookup(ctx, "k"); ok {
		t.Fatalf("stale value %q cached after the write", b)
	}
	// The next reader fills normally.
	_, ticket, _ = c.Lookup(ctx, "k")
	c.Fill(ctx, ticket, []byte("new"), time.Minute)
	if b, _, ok := c.Lookup(ctx, "k"); !ok || string(b) != "new" {
		t.Fatalf("fresh fill: %q %v", b, ok)
	}
	if n := testutil.ToFloat64(c.ops.WithLabelValues("set", "stale")); n != 1 {
		t.Fatalf("stale fills = %v, want 1", n)
	}
}

// TestFailOpen points the cache at a port where nothing listens: every
// operation must return promptly as a miss and be counted as an error.
func TestFailOpen(t *testing.T) {
	c, err := New(Config{URL: "redis://127.0.0.1:1/0"}, prometheus.NewRegistry())
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	ctx := context.Background()
	_, ticket, ok := c.Lookup(ctx, "k")
	if ok {
		t.Fatal("hit from a dead Redis")
	}
	c.Fill(ctx, ticket, []byte("v"), time.Minute)
	c.Invalidate(ctx, "k")
	for _, op := range []string{"get", "delete"} {
		if n := testutil.ToFloat64(c.ops.WithLabelValues(op, "error")); n != 1 {
			t.Errorf("%s errors = %v, want 1", op, n)
		}
	}
}
