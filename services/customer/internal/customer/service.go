package customer

import (
	"context"
	"time"

	"github.com/google/uuid"

	"github.com/kehu-crm/kehu/pkg/auth"
	"github.com/kehu-crm/kehu/pkg/errs"
)

// Service implements the customer use cases.
type Service struct {
	store Store
	cache Cache
	norm  Normalizer
	tiers Tiers
	now   func() time.Time
	// unmergeWindow: see Config.
	unmergeWindow time.Duration
}

// Config configures a Service.
type Config struct {
	// DefaultRegion reads phone numbers written without a country code.
	DefaultRegion string
	// Tiers are the membership thresholds.
	Tiers Tiers
	// Now is the clock; nil means time.Now.
	Now func() time.Time
	// UnmergeWindow is how long after a merge it can be reversed.
	UnmergeWindow time.Duration
}

// New returns a Service.
func New(store Store, cache Cache, cfg Config) *Service {
	now := cfg.Now
	if now == nil {
		now = time.Now
	}
	if len(cfg.Tiers) == 0 {
		cfg.Tiers = DefaultTiers()
	}
	return &Service{
		store: store,
		cache: cache,
		norm:  Normalizer{DefaultRegion: cfg.DefaultRegion, Now: now},
		tiers: cfg.Tiers,
		now:   func() time.Time { return now().UTC().Truncate(time.Microsecond) },

		unmergeWindow: cfg.UnmergeWindow,
	}
}

// Page size limits (AIP-158).
const (
	defaultPageSize   = 50
	maxPageSize       = 1000
	defaultSearchSize = 20
	maxSearchSize     = 100
	maxSearchOffset   = 1000
	maxBatchGet       = 1000
	maxMerge          = 20
)

func newID() string { return uuid.Must(uuid.NewV7()).String() }

// read loads a customer for the caller after a change, bypassing the cache.
// It checks visibility again: a replayed request id answers only what the
// caller may see now, not what it could see when the change was made.
func (s *Service) read(ctx context.Context, a auth.Access, id string) (*Customer, error) {
	c, err := s.store.Get(ctx, id)
	if errs.Is(err, errs.KindNotFound) {
		return nil, errs.NotFound(Name(id))
	}
	if err != nil {
		return nil, err
	}
	if !a.CanSee(c.AccountManager) {
		return nil, errs.NotFound(Name(id))
	}
	return view(a, c), nil
}

// load returns a customer the caller may see, from the cache if possible.
func (s *Service) load(ctx context.Context, a auth.Access, name, field string) (*Customer, error) {
	id, err := ParseName(field, name)
	if err != nil {
		return nil, err
	}
	c, err := s.cache.Load(ctx, id, s.store.Get)
	if errs.Is(err, errs.KindNotFound) {
		return nil, errs.NotFound(name)
	}
	if err != nil {
		return nil, err
	}
	if !a.CanSee(c.AccountManager) {
		return nil, errs.NotFound(name)
	}
	return c, nil
}

// lockVisible locks a customer the caller may change. Customers the caller
// may not change are reported as not found, like ones that do not exist.
// The old name of a merged customer is refused: reads follow it to the
// survivor, but a change meant for the merged customer must not land on
// the survivor (a purge would erase everything merged into it).
func (s *Service) lockVisible(ctx context.Context, tx Tx, a auth.Access, id string) (*Customer, error) {
	c, err := tx.Lock(ctx, id)
	if err != nil {
		if errs.Is(err, errs.KindNotFound) {
			return nil, errs.NotFound(Name(id))
		}
		return nil, err
	}
	if !a.CanChange(c.AccountManager) {
		if a.CanSee(c.AccountManager) {
			return nil, errs.PermissionDenied("you may not change %s", c.Name())
		}
		return nil, errs.NotFound(Name(id))
	}
	if c.ID != id {
		return nil, errs.FailedPrecondition("CUSTOMER_MERGED",
			"%s was merged into %s; change %s instead, or UnmergeCustomer %s first", Name(id), c.Name(), c.Name(), Name(id)).
			WithMetadata("survivor", c.Name())
	}
	return c, nil
}

// save bumps the revision and update time and stores c.
func (s *Service) save(ctx context.Context, tx Tx, c *Customer) error {
	c.Revision++
	c.UpdateTime = s.now()
	return tx.Update(ctx, c)
}
