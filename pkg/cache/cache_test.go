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

func TestRoundTrip(t *testing.T) {
	c, err := New(Config{URL: redisURL(), Prefix: "kehu-test:" + uuid.NewString() + ":"}, prometheus.NewRegistry())
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	ctx := context.Background()
	if err := c.Ping(ctx); err != nil {
		t.Fatalf("Redis must be reachable for this test: %v", err)
	}
	if _, ok := c.Get(ctx, "k"); ok {
		t.Fatal("hit on an empty cache")
	}
	c.Set(ctx, "k", []byte("v"), time.Minute)
	if b, ok := c.Get(ctx, "k"); !ok || string(b) != "v" {
		t.Fatalf("Get = %q, %v", b, ok)
	}
	c.Delete(ctx, "k")
	if _, ok := c.Get(ctx, "k"); ok {
		t.Fatal("hit after Delete")
	}
	if n := testutil.ToFloat64(c.ops.WithLabelValues("get", "hit")); n != 1 {
		t.Fatalf("hits = %v", n)
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
	c.Set(ctx, "k", []byte("v"), time.Minute)
	if _, ok := c.Get(ctx, "k"); ok {
		t.Fatal("hit from a dead Redis")
	}
	c.Delete(ctx, "k")
	for _, op := range []string{"get", "set", "delete"} {
		if n := testutil.ToFloat64(c.ops.WithLabelValues(op, "error")); n != 1 {
			t.Errorf("%s errors = %v, want 1", op, n)
		}
	}
}
