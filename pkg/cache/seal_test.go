package cache

import (
	"bytes"
	"context"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
	"github.com/redis/go-redis/v9"
)

// Redis holds sealed values only: no plaintext, nothing another key can
// open or that was altered; a rotation opens what the old key sealed.
func TestValuesSealedInRedis(t *testing.T) {
	ctx := context.Background()
	prefix := "kehu-test:" + uuid.NewString() + ":"
	old, next := RandomKey(), RandomKey()
	cacheWith := func(keys ...[]byte) *Cache {
		c, err := New(Config{URL: redisURL(), Prefix: prefix, Keys: keys}, prometheus.NewRegistry())
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { _ = c.Close() })
		return c
	}
	a := cacheWith(old)
	plain := []byte(`{"displayName":"王小明","emails":["wang.xiaoming@example.cn"]}`)
	_, ticket, _ := a.Lookup(ctx, "customer:1")
	a.Fill(ctx, ticket, plain, time.Minute)

	opts, _ := redis.ParseURL(redisURL())
	raw := redis.NewClient(opts)
	defer raw.Close()
	stored, err := raw.Get(ctx, prefix+"customer:1").Bytes()
	if err != nil {
		t.Fatal(err)
	}
	if bytes.Contains(stored, []byte("wang.xiaoming")) || bytes.Contains(stored, []byte("王小明")) {
		t.Fatalf("Redis holds plaintext: %q", stored)
	}
	if got, _, ok := a.Lookup(ctx, "customer:1"); !ok || !bytes.Equal(got, plain) {
		t.Fatalf("own value: %q, %v", got, ok)
	}

	stranger := cacheWith(next)
	if _, _, ok := stranger.Lookup(ctx, "customer:1"); ok {
		t.Error("a cache with another key opened the value")
	}
	if n := testutil.ToFloat64(stranger.ops.WithLabelValues("get", "unopened")); n != 1 {
		t.Errorf("unopened = %v", n)
	}
	rotated := cacheWith(next, old)
	if got, _, ok := rotated.Lookup(ctx, "customer:1"); !ok || !bytes.Equal(got, plain) {
		t.Errorf("after a rotation, the old key's value: %q, %v", got, ok)
	}

	stored[len(stored)-1] ^= 1
	if err := raw.Set(ctx, prefix+"customer:1", stored, time.Minute).Err(); err != nil {
		t.Fatal(err)
	}
	if _, _, ok := a.Lookup(ctx, "customer:1"); ok {
		t.Error("an altered value opened")
	}
}

func TestParseKeys(t *testing.T) {
	keys, err := ParseKeys(" a2VodS10ZXN0LWNhY2hlLWtleS0zMi1ieXRlcy1vayE= ,")
	if err != nil || len(keys) != 1 || len(keys[0]) != 32 {
		t.Fatalf("ParseKeys: %v, %v", keys, err)
	}
	for _, bad := range []string{"short", "a2VodQ==", "!!!"} {
		if _, err := ParseKeys(bad); err == nil {
			t.Errorf("ParseKeys(%q) accepted", bad)
		}
	}
	if !bytes.Equal(DeriveKey("shared"), DeriveKey("shared")) || bytes.Equal(DeriveKey("shared"), DeriveKey("other")) {
		t.Error("DeriveKey is not a function of its secret")
	}
}
