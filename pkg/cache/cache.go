// Package cache wraps go-redis as a fail-open cache. Redis holds copies of
// data whose truth is in PostgreSQL, so a Redis outage must cost latency,
// never a failed request: every operation has a short deadline, and every
// failure is logged, counted in kehu_cache_operations_total{result="error"}
// and reported to the caller as a miss. Every value is sealed (encrypted
// and authenticated) before it leaves the process, so Redis and its
// snapshots hold no personal data in plaintext.
package cache

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"
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
	// Keys seal every value (AES-256-GCM, see sealer): the first seals,
	// all open. Replicas that share entries need the same keys; without
	// any, a random key of this process's own seals.
	Keys [][]byte
}

// Cache is a fail-open Redis cache. The zero of Config.URL gives a Cache that
// always misses, which is also what callers see while Redis is down.
type Cache struct {
	client  *redis.Client
	sealer  *sealer
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
			Help: "Redis cache operations by operation and result (hit, miss, ok, stale, unopened, error). Errors are served from the database; stale fills are dropped; unopened values (sealed with another key) are misses.",
		}, []string{"op", "result"}),
	}
	if c.timeout <= 0 {
		c.timeout = 100 * time.Millisecond
	}
	keys := cfg.Keys
	if len(keys) == 0 {
		keys = [][]byte{RandomKey()}
	}
	var err error
	if c.sealer, err = newSealer(keys); err != nil {
		return nil, err
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

// genTTL is how long a key's generation outlives its last invalidation:
// longer than any read between Lookup and Fill (requests have deadlines far
// shorter), so a fill never sees an expired generation as unchanged.
const genTTL = time.Hour

// Ticket is what a reader holds between a miss and the fill: the key's
// generation when it missed. A writer's Invalidate bumps the generation,
// so a reader that loaded the old row before the write cannot put it back.
type Ticket struct {
	key string
	gen string
	ok  bool
}

func (c *Cache) genKey(key string) string { return c.prefix + key + ":gen" }

// Lookup returns the value under key, or on a miss (or any failure) a
// Ticket for filling it; value and generation come in one round trip.
func (c *Cache) Lookup(ctx context.Context, key string) ([]byte, Ticket, bool) {
	if c.client == nil {
		c.ops.WithLabelValues("get", "miss").Inc()
		return nil, Ticket{}, false
	}
	ctx, cancel := context.WithTimeout(ctx, c.timeout)
	defer cancel()
	vals, err := c.client.MGet(ctx, c.prefix+key, c.genKey(key)).Result()
	if err != nil {
		c.fail(ctx, "get", err)
		return nil, Ticket{}, false
	}
	if v, ok := c.opened(vals[0]); ok {
		c.ops.WithLabelValues("get", "hit").Inc()
		return v, Ticket{}, true
	}
	c.ops.WithLabelValues("get", "miss").Inc()
	gen, _ := vals[1].(string)
	return nil, Ticket{key: key, gen: gen, ok: true}, false
}

// LookupMany is Lookup for many keys in one round trip: values[i] is nil
// on a miss, and then tickets[i] fills it.
func (c *Cache) LookupMany(ctx context.Context, keys []string) (values [][]byte, tickets []Ticket) {
	values, tickets = make([][]byte, len(keys)), make([]Ticket, len(keys))
	if len(keys) == 0 {
		return values, tickets
	}
	if c.client == nil {
		c.ops.WithLabelValues("get", "miss").Add(float64(len(keys)))
		return values, tickets
	}
	ctx, cancel := context.WithTimeout(ctx, c.timeout)
	defer cancel()
	args := make([]string, 0, 2*len(keys))
	for _, k := range keys {
		args = append(args, c.prefix+k, c.genKey(k))
	}
	vals, err := c.client.MGet(ctx, args...).Result()
	if err != nil {
		c.fail(ctx, "get", err)
		return values, tickets
	}
	hits := 0
	for i, k := range keys {
		if v, ok := c.opened(vals[2*i]); ok {
			values[i] = v
			hits++
			continue
		}
		gen, _ := vals[2*i+1].(string)
		tickets[i] = Ticket{key: k, gen: gen, ok: true}
	}
	c.ops.WithLabelValues("get", "hit").Add(float64(hits))
	c.ops.WithLabelValues("get", "miss").Add(float64(len(keys) - hits))
	return values, tickets
}

// opened is the plaintext of a value read from Redis; false for none, or
// for one this cache cannot open (sealed with another key, or tampered
// with), which is then a miss and is filled again.
func (c *Cache) opened(v any) ([]byte, bool) {
	s, ok := v.(string)
	if !ok {
		return nil, false
	}
	plain, ok := c.sealer.openValue([]byte(s))
	if !ok {
		c.ops.WithLabelValues("get", "unopened").Inc()
	}
	return plain, ok
}

// fillScript sets the value only if the key's generation is still the one
// the reader saw: check and set in one round trip, atomically.
var fillScript = redis.NewScript(`
local gen = redis.call('GET', KEYS[2])
if (gen or '') ~= ARGV[1] then return 0 end
redis.call('SET', KEYS[1], ARGV[2], 'PX', ARGV[3])
return 1`)

// Fill stores value under the ticket's key for ttl, unless the key was
// invalidated since the ticket was issued (then the value may be older
// than the database and is dropped). Failures are only counted.
func (c *Cache) Fill(ctx context.Context, t Ticket, value []byte, ttl time.Duration) {
	c.FillMany(ctx, []Ticket{t}, [][]byte{value}, ttl)
}

// FillMany is Fill for many tickets in one round trip.
func (c *Cache) FillMany(ctx context.Context, tickets []Ticket, values [][]byte, ttl time.Duration) {
	c.fillMany(ctx, tickets, values, ttl, true)
}

func (c *Cache) fillMany(ctx context.Context, tickets []Ticket, values [][]byte, ttl time.Duration, loadScript bool) {
	if c.client == nil {
		return
	}
	ctx, cancel := context.WithTimeout(ctx, c.timeout)
	defer cancel()
	var cmds []*redis.Cmd
	_, err := c.client.Pipelined(ctx, func(p redis.Pipeliner) error {
		for i, t := range tickets {
			if t.ok {
				cmds = append(cmds, fillScript.Run(ctx, p, []string{c.prefix + t.key, c.genKey(t.key)}, t.gen, c.sealer.sealValue(values[i]), ttl.Milliseconds()))
			}
		}
		return nil
	})
	if errors.Is(err, redis.Nil) {
		err = nil
	}
	if err != nil && loadScript && strings.HasPrefix(err.Error(), "NOSCRIPT") {
		// First use on this Redis: load the script and try once more.
		if err = fillScript.Load(ctx, c.client).Err(); err == nil {
			c.fillMany(ctx, tickets, values, ttl, false)
			return
		}
	}
	if err != nil {
		c.fail(ctx, "set", err)
		return
	}
	for _, cmd := range cmds {
		if n, _ := cmd.Int(); n == 1 {
			c.ops.WithLabelValues("set", "ok").Inc()
		} else {
			c.ops.WithLabelValues("set", "stale").Inc()
		}
	}
}

// Invalidate removes keys and bumps their generations, so fills of reads
// that began before are dropped. It runs to completion even when ctx is
// cancelled (a client hanging up right after its write must not leave the
// old value cached). A failed invalidation leaves a stale entry until its
// TTL runs out, which is why every entry has one.
func (c *Cache) Invalidate(ctx context.Context, keys ...string) {
	if c.client == nil || len(keys) == 0 {
		return
	}
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), c.timeout)
	defer cancel()
	_, err := c.client.TxPipelined(ctx, func(p redis.Pipeliner) error {
		for _, k := range keys {
			p.Del(ctx, c.prefix+k)
			p.Incr(ctx, c.genKey(k))
			p.Expire(ctx, c.genKey(k), genTTL)
		}
		return nil
	})
	if err != nil {
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

// Client is the underlying go-redis client, for libraries that work on
// Redis directly (rate limiting); nil when Redis is not configured.
func (c *Cache) Client() *redis.Client { return c.client }

// Close releases the connection pool.
func (c *Cache) Close() error {
	if c.client == nil {
		return nil
	}
	return c.client.Close()
}
