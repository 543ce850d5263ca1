package cache

import (
	"context"
	"errors"
	"fmt"
	"hash/maphash"
	"log/slog"
	"math/rand/v2"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/redis/go-redis/v9"
	"golang.org/x/sync/singleflight"
)

// NearConfig configures a two-tier cache: decoded values in process memory
// in front of encoded values in Redis in front of the loader (PostgreSQL).
type NearConfig struct {
	// Name names the cache in keys, the invalidation channel and metrics.
	Name string
	// TTL is how long an entry lives in Redis (±10 % jitter, so keys filled
	// together do not expire together).
	TTL time.Duration
	// LocalTTL bounds how long a replica serves an entry from its memory.
	// Invalidations reach every replica over Redis pub/sub within
	// milliseconds; LocalTTL is the bound when one is lost. Zero turns the
	// in-process tier off.
	LocalTTL time.Duration
	// LocalEntries bounds the in-process tier; default 100,000.
	LocalEntries int
}

// Near is a cache-aside cache with an in-process tier kept coherent across
// replicas. A Redis round trip costs more than the rest of a cached gRPC
// lookup, so the hottest keys are answered from memory; a writer's
// Invalidate deletes the Redis entry, bumps its generation and publishes
// the keys on a channel every replica subscribes to, and each replica
// drops them from memory on receipt. A replica serves from memory only
// while its subscription is up (entries are cleared whenever it drops,
// since invalidations may have been missed), and a fill that raced with an
// invalidation of its key is not kept, so a replica never holds an entry
// older than the last invalidation it received.
type Near[V any] struct {
	redis     *Cache
	cfg       NearConfig
	channel   string
	marshal   func(V) ([]byte, error)
	unmarshal func([]byte) (V, error)
	keepable  func(key string, v V) bool
	group     singleflight.Group
	seed      maphash.Seed
	shards    [nearShards]nearShard[V]
	// coherent is true while the invalidation subscription is up.
	coherent atomic.Bool

	local    *prometheus.CounterVec
	delay    prometheus.Histogram
	upGauge  prometheus.Gauge
	entriesG prometheus.GaugeFunc
}

// nearShards spreads the in-process tier over independently locked maps so
// concurrent lookups of different keys do not contend.
const nearShards = 64

type nearShard[V any] struct {
	mu sync.Mutex
	// seq counts invalidations that touched the shard; a fill is kept only
	// if none happened since its lookup began.
	seq     uint64
	entries map[string]nearEntry[V]
}

type nearEntry[V any] struct {
	value   V
	expires int64 // unix nanos
}

// flushAll is published instead of the keys when an invalidation names
// more keys than fit a reasonable message; receivers drop everything.
const (
	flushAll       = "*"
	maxPublishKeys = 1000
)

// NewNear returns a two-tier cache over c whose values are encoded with
// marshal/unmarshal in Redis. Run must be running for the in-process tier
// to serve anything.
func NewNear[V any](c *Cache, cfg NearConfig, marshal func(V) ([]byte, error), unmarshal func([]byte) (V, error), reg prometheus.Registerer) (*Near[V], error) {
	if cfg.LocalEntries <= 0 {
		cfg.LocalEntries = 100_000
	}
	n := &Near[V]{
		redis: c, cfg: cfg, channel: c.prefix + cfg.Name + ":invalidate",
		marshal: marshal, unmarshal: unmarshal, seed: maphash.MakeSeed(),
	}
	for i := range n.shards {
		n.shards[i].entries = map[string]nearEntry[V]{}
	}
	labels := prometheus.Labels{"cache": cfg.Name}
	n.local = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "kehu_cache_local_lookups_total", ConstLabels: labels,
		Help: "Lookups of the in-process cache tier by result (hit, miss, bypass: served from Redis or the database because the invalidation subscription is down).",
	}, []string{"result"})
	n.delay = prometheus.NewHistogram(prometheus.HistogramOpts{
		Name: "kehu_cache_invalidation_delay_seconds", ConstLabels: labels,
		Help:    "Time from a writer publishing an invalidation to this replica dropping the keys from memory (the coherence delay across replicas).",
		Buckets: []float64{.0002, .0005, .001, .002, .005, .01, .025, .05, .1, .25, .5, 1},
	})
	n.upGauge = prometheus.NewGauge(prometheus.GaugeOpts{
		Name: "kehu_cache_local_coherent", ConstLabels: labels,
		Help: "1 while the invalidation subscription is up and the in-process tier serves; 0 while lookups bypass it.",
	})
	n.entriesG = prometheus.NewGaugeFunc(prometheus.GaugeOpts{
		Name: "kehu_cache_local_entries", ConstLabels: labels,
		Help: "Entries held by the in-process cache tier.",
	}, n.size)
	if reg != nil {
		for _, m := range []prometheus.Collector{n.local, n.delay, n.upGauge, n.entriesG} {
			if err := reg.Register(m); err != nil {
				return nil, err
			}
		}
	}
	return n, nil
}

// KeepOnly makes loaded values that keepable refuses pass through without
// being cached in either tier: an answer the key's invalidations would not
// cover (a merged customer's id answered with the survivor, whose changes
// invalidate the survivor's key only).
func (n *Near[V]) KeepOnly(keepable func(key string, v V) bool) *Near[V] {
	n.keepable = keepable
	return n
}

func (n *Near[V]) shard(key string) *nearShard[V] {
	return &n.shards[maphash.String(n.seed, key)%nearShards]
}

func (n *Near[V]) size() float64 {
	total := 0
	for i := range n.shards {
		s := &n.shards[i]
		s.mu.Lock()
		total += len(s.entries)
		s.mu.Unlock()
	}
	return float64(total)
}

// Get returns the value under key: from memory, else from Redis, else
// from load (once per process for concurrent misses of a key), filling the
// tiers it passed. Redis failures are misses; load's error is returned.
func (n *Near[V]) Get(ctx context.Context, key string, load func(context.Context) (V, error)) (V, error) {
	s := n.shard(key)
	useLocal := n.cfg.LocalTTL > 0 && n.coherent.Load()
	var seq uint64
	if useLocal {
		now := time.Now().UnixNano()
		s.mu.Lock()
		e, ok := s.entries[key]
		seq = s.seq
		s.mu.Unlock()
		if ok && e.expires > now {
			n.local.WithLabelValues("hit").Inc()
			return e.value, nil
		}
		n.local.WithLabelValues("miss").Inc()
	} else if n.cfg.LocalTTL > 0 {
		n.local.WithLabelValues("bypass").Inc()
	}
	raw, ticket, ok := n.redis.Lookup(ctx, n.cfg.Name+":"+key)
	if ok {
		if v, err := n.unmarshal(raw); err == nil {
			if useLocal {
				n.keep(s, key, v, seq)
			}
			return v, nil
		}
	}
	// A caller joining a load in flight gets what that load read, which
	// may predate an invalidation the caller already saw: the load's own
	// starting point decides whether memory may keep it.
	type loaded struct {
		v           V
		seq         uint64
		passThrough bool
	}
	r, err, _ := n.group.Do(key, func() (any, error) {
		s.mu.Lock()
		started := s.seq
		s.mu.Unlock()
		v, err := load(context.WithoutCancel(ctx))
		if err != nil {
			return loaded{}, err
		}
		if n.keepable != nil && !n.keepable(key, v) {
			return loaded{v: v, passThrough: true}, nil
		}
		if raw, err := n.marshal(v); err == nil {
			n.redis.Fill(ctx, ticket, raw, n.ttl())
		}
		return loaded{v: v, seq: started}, nil
	})
	if err != nil {
		var zero V
		return zero, err
	}
	l := r.(loaded)
	if useLocal && !l.passThrough {
		n.keep(s, key, l.v, l.seq)
	}
	return l.v, nil
}

// GetMany is Get for many keys (answers in the order of keys): memory,
// then one Redis round trip for the rest, then one call of load for what
// Redis lacked, which must answer every key it is given.
func (n *Near[V]) GetMany(ctx context.Context, keys []string, load func(ctx context.Context, keys []string) (map[string]V, error)) ([]V, error) {
	out := make([]V, len(keys))
	useLocal := n.cfg.LocalTTL > 0 && n.coherent.Load()
	seqs := make([]uint64, len(keys))
	var todo []int
	now := time.Now().UnixNano()
	for i, k := range keys {
		if !useLocal {
			todo = append(todo, i)
			continue
		}
		s := n.shard(k)
		s.mu.Lock()
		e, ok := s.entries[k]
		seqs[i] = s.seq
		s.mu.Unlock()
		if ok && e.expires > now {
			out[i] = e.value
			continue
		}
		todo = append(todo, i)
	}
	if n.cfg.LocalTTL > 0 {
		result := "bypass"
		if useLocal {
			n.local.WithLabelValues("hit").Add(float64(len(keys) - len(todo)))
			result = "miss"
		}
		n.local.WithLabelValues(result).Add(float64(len(todo)))
	}
	if len(todo) == 0 {
		return out, nil
	}
	keep := func(i int, v V) {
		out[i] = v
		if useLocal {
			n.keep(n.shard(keys[i]), keys[i], v, seqs[i])
		}
	}
	remote := make([]string, len(todo))
	for j, i := range todo {
		remote[j] = n.cfg.Name + ":" + keys[i]
	}
	raws, tickets := n.redis.LookupMany(ctx, remote)
	var missing []int
	for j, i := range todo {
		if raws[j] != nil {
			if v, err := n.unmarshal(raws[j]); err == nil {
				keep(i, v)
				continue
			}
		}
		missing = append(missing, j)
	}
	if len(missing) == 0 {
		return out, nil
	}
	ask := make([]string, len(missing))
	for m, j := range missing {
		ask[m] = keys[todo[j]]
	}
	loaded, err := load(context.WithoutCancel(ctx), ask)
	if err != nil {
		return nil, err
	}
	fills, values := make([]Ticket, 0, len(missing)), make([][]byte, 0, len(missing))
	for _, j := range missing {
		i := todo[j]
		v, ok := loaded[keys[i]]
		if !ok {
			return nil, fmt.Errorf("cache %s: the loader did not answer key %q", n.cfg.Name, keys[i])
		}
		if n.keepable != nil && !n.keepable(keys[i], v) {
			out[i] = v
			continue
		}
		keep(i, v)
		if raw, err := n.marshal(v); err == nil {
			fills, values = append(fills, tickets[j]), append(values, raw)
		}
	}
	n.redis.FillMany(ctx, fills, values, n.ttl())
	return out, nil
}

// ttl is the Redis lifetime of a new entry: TTL ± 10 %.
func (n *Near[V]) ttl() time.Duration {
	return n.cfg.TTL + time.Duration(rand.Int64N(int64(n.cfg.TTL)/5+1)) - n.cfg.TTL/10
}

// keep stores v in memory unless the key's shard saw an invalidation since
// the lookup began (v may then predate it) or the subscription dropped.
func (n *Near[V]) keep(s *nearShard[V], key string, v V, seq uint64) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.seq != seq || !n.coherent.Load() {
		return
	}
	if len(s.entries) >= n.cfg.LocalEntries/nearShards+1 {
		for k := range s.entries { // evict an arbitrary entry: maps iterate randomly
			delete(s.entries, k)
			break
		}
	}
	s.entries[key] = nearEntry[V]{value: v, expires: time.Now().Add(n.cfg.LocalTTL).UnixNano()}
}

// Invalidate drops keys from every tier on every replica: from Redis (with
// a generation bump, see Cache.Invalidate), from every replica's memory
// through the channel, and from this replica's memory at once. Call it
// after the commit that changed the keys' truth.
func (n *Near[V]) Invalidate(ctx context.Context, keys ...string) {
	if len(keys) == 0 {
		return
	}
	remote := make([]string, len(keys))
	for i, k := range keys {
		remote[i] = n.cfg.Name + ":" + k
	}
	n.redis.Invalidate(ctx, remote...)
	if n.cfg.LocalTTL > 0 {
		n.publish(ctx, keys)
		n.drop(keys)
	}
}

// publish announces keys to the other replicas: the publisher's clock
// first (for the delay metric), then the keys, or flushAll for many.
func (n *Near[V]) publish(ctx context.Context, keys []string) {
	if n.redis.client == nil {
		return
	}
	body := flushAll
	if len(keys) <= maxPublishKeys {
		body = strings.Join(keys, "\n")
	}
	msg := strconv.FormatInt(time.Now().UnixNano(), 10) + "\n" + body
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), n.redis.timeout)
	defer cancel()
	if err := n.redis.client.Publish(ctx, n.channel, msg).Err(); err != nil {
		// The other replicas' subscriptions run over the same Redis and
		// are most likely down too, which stops them serving from memory;
		// if not, LocalTTL bounds how long they serve the old entry.
		n.redis.fail(ctx, "publish", err)
	}
}

// drop removes keys from this replica's memory (all entries for flushAll).
func (n *Near[V]) drop(keys []string) {
	if len(keys) > maxPublishKeys {
		n.clear()
		return
	}
	for _, k := range keys {
		s := n.shard(k)
		s.mu.Lock()
		delete(s.entries, k)
		s.seq++
		s.mu.Unlock()
	}
}

func (n *Near[V]) clear() {
	for i := range n.shards {
		s := &n.shards[i]
		s.mu.Lock()
		clear(s.entries)
		s.seq++
		s.mu.Unlock()
	}
}

// pingEvery is how often an idle subscription is checked: a Redis that
// hangs without closing the connection must stop the in-process tier
// within about this long.
const pingEvery = time.Second

// Run keeps the invalidation subscription and serves the in-process tier
// while it is up, until ctx ends. Every (re)subscription starts from an
// empty memory, since invalidations published meanwhile were not seen.
func (n *Near[V]) Run(ctx context.Context) {
	if n.cfg.LocalTTL <= 0 || n.redis.client == nil {
		return
	}
	defer n.setCoherent(false)
	for ctx.Err() == nil {
		n.subscribe(ctx)
		select {
		case <-ctx.Done():
		case <-time.After(250 * time.Millisecond): // Redis is down: retry soon, not in a tight loop
		}
	}
}

// setCoherent switches the in-process tier on or off; either way memory
// starts empty, since invalidations may have been missed while it was off.
func (n *Near[V]) setCoherent(up bool) {
	if !up {
		n.coherent.Store(false)
	}
	n.clear()
	if up {
		n.coherent.Store(true)
		n.upGauge.Set(1)
	} else {
		n.upGauge.Set(0)
	}
}

// subscribe runs one subscription until it fails or ctx ends.
func (n *Near[V]) subscribe(ctx context.Context) {
	ps := n.redis.client.Subscribe(ctx)
	defer ps.Close()
	defer n.setCoherent(false)
	if err := ps.Subscribe(ctx, n.channel); err != nil {
		n.redis.fail(ctx, "subscribe", err)
		return
	}
	pinged := false
	for {
		msg, err := ps.ReceiveTimeout(ctx, pingEvery)
		if ctx.Err() != nil {
			return
		}
		if err != nil {
			// A timeout on an idle channel is answered by a ping; a second
			// one in a row means Redis stopped answering.
			if isTimeout(err) && !pinged {
				pinged = true
				if err := ps.Ping(ctx); err == nil {
					continue
				}
			}
			n.redis.fail(ctx, "subscribe", err)
			return
		}
		pinged = false
		switch m := msg.(type) {
		case *redis.Subscription:
			if m.Kind == "subscribe" {
				n.setCoherent(true)
				slog.DebugContext(ctx, "cache invalidation subscription up", "channel", n.channel)
			}
		case *redis.Message:
			n.received(m.Payload)
		}
	}
}

// received applies an invalidation message and records its delay.
func (n *Near[V]) received(payload string) {
	sent, body, _ := strings.Cut(payload, "\n")
	if body == flushAll {
		n.clear()
	} else {
		n.drop(strings.Split(body, "\n"))
	}
	if ns, err := strconv.ParseInt(sent, 10, 64); err == nil {
		n.delay.Observe(max(0, time.Since(time.Unix(0, ns)).Seconds()))
	}
}

func isTimeout(err error) bool {
	var t interface{ Timeout() bool }
	return errors.As(err, &t) && t.Timeout()
}
