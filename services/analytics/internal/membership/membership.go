// Package membership keeps customers' segment memberships in Redis for
// the hot lookup (GetCustomerSegments, CheckMembership): cache-aside, so a
// cold or evicted key is rebuilt from PostgreSQL, which stays the truth,
// and Redis down only costs speed. Entries are dropped right after the
// commit that changed them; the platform cache's generations keep a slow
// reader from putting back what a writer dropped; single-flight makes a
// cold key reach PostgreSQL once per process; TTLs have jitter so keys
// filled together do not expire together.
package membership

import (
	"context"
	"encoding/json"
	"math/rand/v2"
	"time"

	"golang.org/x/sync/singleflight"

	"github.com/kehu-crm/kehu/pkg/cache"
	"github.com/kehu-crm/kehu/services/analytics/internal/insight"
)

// Cache implements insight.Cache on the platform cache.
type Cache struct {
	c     *cache.Cache
	ttl   time.Duration
	group singleflight.Group
}

var _ insight.Cache = (*Cache)(nil)

// New returns a Cache whose entries live about ttl (±10%).
func New(c *cache.Cache, ttl time.Duration) *Cache { return &Cache{c: c, ttl: ttl} }

func key(customerID string) string { return "analytics:segments:" + customerID }

type entry struct {
	Known    bool     `json:"k"`
	Manager  string   `json:"m,omitempty"`
	Segments []string `json:"s,omitempty"`
}

// Memberships implements insight.Cache.
func (m *Cache) Memberships(ctx context.Context, customerID string, load func(context.Context) (insight.Membership, error)) (insight.Membership, error) {
	raw, ticket, ok := m.c.Lookup(ctx, key(customerID))
	if ok {
		var e entry
		if json.Unmarshal(raw, &e) == nil {
			return insight.Membership{Known: e.Known, AccountManager: e.Manager, Segments: e.Segments}, nil
		}
	}
	v, err, _ := m.group.Do(customerID, func() (any, error) {
		mem, err := load(context.WithoutCancel(ctx))
		if err != nil {
			return mem, err
		}
		if raw, err := json.Marshal(entry{Known: mem.Known, Manager: mem.AccountManager, Segments: mem.Segments}); err == nil {
			jitter := time.Duration(rand.Int64N(int64(m.ttl)/5+1)) - m.ttl/10
			m.c.Fill(ctx, ticket, raw, m.ttl+jitter)
		}
		return mem, nil
	})
	if err != nil {
		return insight.Membership{}, err
	}
	return v.(insight.Membership), nil
}

// Invalidate implements insight.Cache, on a context the caller's
// departure cannot cancel: a dropped invalidation would serve a stale
// answer for a whole TTL.
func (m *Cache) Invalidate(ctx context.Context, customerIDs ...string) {
	if len(customerIDs) == 0 {
		return
	}
	keys := make([]string, len(customerIDs))
	for n, id := range customerIDs {
		keys[n] = key(id)
	}
	m.c.Invalidate(context.WithoutCancel(ctx), keys...)
}
