package store

import (
	"context"
	"encoding/json"
	"time"

	"github.com/kehu-crm/kehu/pkg/cache"
	"github.com/kehu-crm/kehu/services/customer/internal/customer"
)

// Cache keeps customers read by id in Redis, as JSON, for a short time.
// Writers invalidate after commit; the TTL bounds staleness if an
// invalidation is lost (Redis down at that moment).
type Cache struct {
	redis *cache.Cache
	ttl   time.Duration
}

var _ customer.Cache = (*Cache)(nil)

// NewCache wraps a fail-open Redis cache.
func NewCache(c *cache.Cache, ttl time.Duration) *Cache { return &Cache{redis: c, ttl: ttl} }

func key(id string) string { return "customer:" + id }

// Get implements customer.Cache.
func (c *Cache) Get(ctx context.Context, id string) (*customer.Customer, bool) {
	b, ok := c.redis.Get(ctx, key(id))
	if !ok {
		return nil, false
	}
	var v customer.Customer
	if err := json.Unmarshal(b, &v); err != nil {
		return nil, false
	}
	return &v, true
}

// Put implements customer.Cache. A customer is cached under its own id only;
// the id of a customer merged into it misses and resolves in the database.
func (c *Cache) Put(ctx context.Context, v *customer.Customer) {
	b, err := json.Marshal(v)
	if err != nil {
		return
	}
	c.redis.Set(ctx, key(v.ID), b, c.ttl)
}

// Invalidate implements customer.Cache.
func (c *Cache) Invalidate(ctx context.Context, ids ...string) {
	if len(ids) == 0 {
		return
	}
	keys := make([]string, len(ids))
	for i, id := range ids {
		keys[i] = key(id)
	}
	c.redis.Delete(ctx, keys...)
}
