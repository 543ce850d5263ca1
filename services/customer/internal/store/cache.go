package store

import (
	"context"
	"encoding/json"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/kehu-crm/kehu/pkg/cache"
	"github.com/kehu-crm/kehu/services/customer/internal/customer"
)

// Cache keeps customers read by id close: decoded in each replica's memory
// (kept coherent over Redis pub/sub), in front of Redis (as JSON), in front
// of PostgreSQL. The by-id read is the API's most common call, and a Redis
// round trip plus decoding cost more than the rest of it. Writers
// invalidate after commit; the TTLs bound staleness if an invalidation is
// lost (Redis down at that moment).
type Cache struct {
	near *cache.Near[*customer.Customer]
}

var _ customer.Cache = (*Cache)(nil)

// NewCache returns the customers' cache ("customer") under cfg's TTLs.
func NewCache(c *cache.Cache, cfg cache.NearConfig, reg prometheus.Registerer) (*Cache, error) {
	cfg.Name = "customer"
	near, err := cache.NewNear(c, cfg, func(v *customer.Customer) ([]byte, error) { return json.Marshal(v) },
		func(b []byte) (*customer.Customer, error) {
			var v customer.Customer
			err := json.Unmarshal(b, &v)
			return &v, err
		}, reg)
	if err != nil {
		return nil, err
	}
	// A customer is cached under its own id only: the id of a customer
	// merged into another resolves to the survivor in the database, whose
	// changes invalidate the survivor's id.
	near.KeepOnly(func(id string, v *customer.Customer) bool { return v.ID == id })
	return &Cache{near: near}, nil
}

// Run keeps the in-process tier coherent until ctx ends.
func (c *Cache) Run(ctx context.Context) { c.near.Run(ctx) }

// Load implements customer.Cache. The customer returned may be shared
// with other callers: it must not be modified.
func (c *Cache) Load(ctx context.Context, id string, load func(context.Context, string) (*customer.Customer, error)) (*customer.Customer, error) {
	return c.near.Get(ctx, id, func(ctx context.Context) (*customer.Customer, error) { return load(ctx, id) })
}

// Invalidate implements customer.Cache.
func (c *Cache) Invalidate(ctx context.Context, ids ...string) {
	if len(ids) > 0 {
		c.near.Invalidate(ctx, ids...)
	}
}
