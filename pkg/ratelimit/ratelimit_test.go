package ratelimit

import (
	"context"
	"os"
	"testing"

	"github.com/google/uuid"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
	"github.com/redis/go-redis/v9"

	"github.com/kehu-crm/kehu/pkg/errs"
)

func redisClient(t *testing.T, url string) *redis.Client {
	t.Helper()
	opts, err := redis.ParseURL(url)
	if err != nil {
		t.Fatal(err)
	}
	opts.MaxRetries = -1
	c := redis.NewClient(opts)
	t.Cleanup(func() { _ = c.Close() })
	return c
}

// TestLimitPerCaller: a caller over the allowance gets RESOURCE_EXHAUSTED
// with a retry delay; another caller is not affected.
func TestLimitPerCaller(t *testing.T) {
	url := os.Getenv("KEHU_REDIS_URL")
	if url == "" {
		url = "redis://127.0.0.1:6379/0"
	}
	l := New(redisClient(t, url), Config{Rate: 2, Burst: 3, Namespace: "test-" + uuid.NewString()}, prometheus.NewRegistry())
	ctx := context.Background()
	for i := range 3 {
		if err := l.Allow(ctx, "alice"); err != nil {
			t.Fatalf("call %d within the burst: %v", i+1, err)
		}
	}
	err := l.Allow(ctx, "alice")
	e, _ := errs.As(err)
	if !errs.Is(err, errs.KindResourceExhausted) || e.Reason != "RATE_LIMITED" || e.RetryAfter <= 0 {
		t.Fatalf("call over the burst: %v", err)
	}
	if err := l.Allow(ctx, "bob"); err != nil {
		t.Fatalf("another caller was limited: %v", err)
	}
	if n := testutil.ToFloat64(l.decisions.WithLabelValues("limited")); n != 1 {
		t.Fatalf("limited decisions = %v", n)
	}
}

// TestFailsOpen: with Redis unreachable every call passes and the metric
// counts the failures.
func TestFailsOpen(t *testing.T) {
	l := New(redisClient(t, "redis://127.0.0.1:1/0"), Config{Rate: 1, Burst: 1, Namespace: "test"}, prometheus.NewRegistry())
	for range 3 {
		if err := l.Allow(context.Background(), "alice"); err != nil {
			t.Fatalf("Redis down must not refuse calls: %v", err)
		}
	}
	if n := testutil.ToFloat64(l.decisions.WithLabelValues("error")); n != 3 {
		t.Fatalf("error decisions = %v, want 3", n)
	}
}
