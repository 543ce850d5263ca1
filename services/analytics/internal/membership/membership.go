// Package membership keeps customers' segment memberships close for the
// hot lookup (GetCustomerSegments, CheckMembership), on the platform's
// two-tier cache: decoded entries in each replica's memory, kept coherent
// over Redis pub/sub, in front of Redis, in front of PostgreSQL, which
// stays the truth. It is cache-aside rather than write-through because
// memberships change in set-based passes touching thousands of customers
// at once: dropping their entries after the commit is one pipeline, while
// writing each new answer would load every one of them, most never asked
// for. Redis down costs only speed.
package membership

import (
	"context"
	"encoding/json"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/kehu-crm/kehu/pkg/cache"
	"github.com/kehu-crm/kehu/services/analytics/internal/insight"
)

// Cache implements insight.Cache on the platform's near cache.
type Cache struct {
	near *cache.Near[insight.Membership]
}

var _ insight.Cache = (*Cache)(nil)

// New returns a Cache named "analytics:memberships" under cfg's TTLs.
func New(c *cache.Cache, cfg cache.NearConfig, reg prometheus.Registerer) (*Cache, error) {
	cfg.Name = "analytics:memberships"
	near, err := cache.NewNear(c, cfg, marshal, unmarshal, reg)
	if err != nil {
		return nil, err
	}
	return &Cache{near: near}, nil
}

// Run keeps the in-process tier coherent until ctx ends.
func (m *Cache) Run(ctx context.Context) { m.near.Run(ctx) }

type entry struct {
	Known    bool     `json:"k"`
	Manager  string   `json:"m,omitempty"`
	Segments []string `json:"s,omitempty"`
	Personal []string `json:"p,omitempty"`
}

func marshal(m insight.Membership) ([]byte, error) {
	return json.Marshal(entry{Known: m.Known, Manager: m.AccountManager, Segments: m.Segments, Personal: m.Personal})
}

func unmarshal(raw []byte) (insight.Membership, error) {
	var e entry
	err := json.Unmarshal(raw, &e)
	return insight.Membership{Known: e.Known, AccountManager: e.Manager, Segments: e.Segments, Personal: e.Personal}, err
}

// Memberships implements insight.Cache. The answer may be shared with
// other callers: it must not be modified.
func (m *Cache) Memberships(ctx context.Context, customerID string, load func(context.Context) (insight.Membership, error)) (insight.Membership, error) {
	return m.near.Get(ctx, customerID, load)
}

// ManyMemberships implements insight.Cache.
func (m *Cache) ManyMemberships(ctx context.Context, customerIDs []string, load func(context.Context, []string) (map[string]insight.Membership, error)) ([]insight.Membership, error) {
	return m.near.GetMany(ctx, customerIDs, load)
}

// Invalidate implements insight.Cache.
func (m *Cache) Invalidate(ctx context.Context, customerIDs ...string) {
	m.near.Invalidate(ctx, customerIDs...)
}
