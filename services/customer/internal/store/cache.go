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

// Load implements customer.Cache. A customer is cached under its own id
// only: the id of a customer merged into another resolves to the survivor
// in the database, and is not cached.
func (c *Cache) Load(ctx context.Context, id string, load func(context.Context, string) (*customer.Customer, error)) (*customer.Customer, error) {
	b, ticket, ok := c.redis.Lookup(ctx, key(id))
	if ok {
		var v customer.Customer
		if err := json.Unmarshal(b, &v); err == nil {
			return &v, nil
		}
	}
	v, err := load(ctx, id)
	if err != nil || v.ID != id {
		return v, err
	}
	if b, err := json.Marshal(v); err == nil {
		c.redis.Fill(ctx, ticket, b, c.ttl)
	}
	return v, nil
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
	c.redis.Invalidate(ctx, keys...)
}
