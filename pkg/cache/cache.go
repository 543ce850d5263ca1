// Package cache wraps go-redis as a fail-open cache. Redis holds copies of
// data whose truth is in PostgreSQL, so a Redis outage must cost latency,
// never a failed request: every operation has a short deadline, and every
// failure is logged, counted in kehu_cache_operations_total{result="error"}
// and reported to the caller as a miss.
package cache

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/redis/go-redis/v9"
)

func init() {
	// go-redis prints its own retries to stderr in plain text; the cache
	// reports failures itself (JSON log and metric), so route the library's
	// chatter to debug level.
	redis.SetLogger(debugLogger{})
}

type debugLogger struct{}

func (debugLogger) Printf(ctx context.Context, format string, v ...any) {
	slog.DebugContext(ctx, "redis: "+fmt.Sprintf(format, v...))
}

// Config configures the cache.
type Config struct {
	// URL is a redis:// URL; empty disables caching (every Get misses).
	URL string
	// Prefix namespaces keys, so services can share one Redis.
	Prefix string
	// OpTimeout bounds each operation; default 100ms. A cache slower than
	// the database it fronts is worse than none.
	OpTimeout time.Duration
}

// Cache is a fail-open Redis cache. The zero of Config.URL gives a Cache that
// always misses, which is also what callers see while Redis is down.
type Cache struct {
	client  *redis.Client
	prefix  string
	timeout time.Duration
	ops     *prometheus.CounterVec
	lastLog atomic.Int64 // unix nanos of the last outage log line
}

// New returns a Cache and registers its metrics with reg. It does not
// require Redis to be up: the cache starts working when Redis does.
func New(cfg Config, reg prometheus.Registerer) (*Cache, error) {
	c := &Cache{
		prefix:  cfg.Prefix,
		timeout: cfg.OpTimeout,
		ops: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "kehu_cache_operations_total",
			Help: "Redis cache operations by operation and result (hit, miss, ok, error). Errors are served from the database.",
		}, []string{"op", "result"}),
	}
	if c.timeout <= 0 {
		c.timeout = 100 * time.Millisecond
	}
	if reg != nil {
		if err := reg.Register(c.ops); err != nil {
			return nil, err
		}
	}
	if cfg.URL == "" {
		return c, nil
	}
	opts, err := redis.ParseURL(cfg.URL)
	if err != nil {
		return nil, err
	}
	// Fail fast: one quick attempt, no retry storms against a dead Redis.
	opts.MaxRetries = -1 // go-redis reads 0 as "default (3)"
	opts.DialerRetries = 1
	opts.DialTimeout = 250 * time.Millisecond
	opts.ReadTimeout = c.timeout
	opts.WriteTimeout = c.timeout
	c.client = redis.NewClient(opts)
	return c, nil
}

// logEvery bounds how often an outage is logged: while Redis is down every
// request fails over, and the metric already counts each one.
const logEvery = 10 * time.Second

func (c *Cache) fail(ctx context.Context, op string, err error) {
	c.ops.WithLabelValues(op, "error").Inc()
	now := time.Now().UnixNano()
	if last := c.lastLog.Load(); now-last >= int64(logEvery) && c.lastLog.CompareAndSwap(last, now) {
		slog.WarnContext(ctx, "redis cache unavailable; serving from the database", "op", op, "error", err)
	}
}

// Get returns the value under key; false on a miss or any failure.
func (c *Cache) Get(ctx context.Context, key string) ([]byte, bool) {
	if c.client == nil {
		c.ops.WithLabelValues("get", "miss").Inc()
		return nil, false
	}
	ctx, cancel := context.WithTimeout(ctx, c.timeout)
	defer cancel()
	b, err := c.client.Get(ctx, c.prefix+key).Bytes()
	switch {
	case errors.Is(err, redis.Nil):
		c.ops.WithLabelValues("get", "miss").Inc()
		return nil, false
	case err != nil:
		c.fail(ctx, "get", err)
		return nil, false
	}
	c.ops.WithLabelValues("get", "hit").Inc()
	return b, true
}

// Set stores value under key for ttl; failures are only counted.
func (c *Cache) Set(ctx context.Context, key string, value []byte, ttl time.Duration) {
	if c.client == nil {
		return
	}
	ctx, cancel := context.WithTimeout(ctx, c.timeout)
	defer cancel()
	if err := c.client.Set(ctx, c.prefix+key, value, ttl).Err(); err != nil {
		c.fail(ctx, "set", err)
		return
	}
	c.ops.WithLabelValues("set", "ok").Inc()
}

// Delete removes keys. A failed delete leaves a stale entry until its TTL
// runs out, which is why every entry has one.
func (c *Cache) Delete(ctx context.Context, keys ...string) {
	if c.client == nil || len(keys) == 0 {
		return
	}
	full := make([]string, len(keys))
	for i, k := range keys {
		full[i] = c.prefix + k
	}
	ctx, cancel := context.WithTimeout(ctx, c.timeout)
	defer cancel()
	if err := c.client.Del(ctx, full...).Err(); err != nil {
		c.fail(ctx, "delete", err)
		return
	}
	c.ops.WithLabelValues("delete", "ok").Inc()
}

// Ping reports whether Redis answers; for diagnostics, not readiness, since
// the service is ready without its cache.
func (c *Cache) Ping(ctx context.Context) error {
	if c.client == nil {
		return errors.New("cache disabled")
	}
	return c.client.Ping(ctx).Err()
}

// Close releases the connection pool.
func (c *Cache) Close() error {
	if c.client == nil {
		return nil
	}
	return c.client.Close()
}
