package app

import (
	"context"
	"fmt"

	"github.com/kehu-crm/kehu/pkg/envelope"
	"github.com/kehu-crm/kehu/pkg/pg"
	"github.com/kehu-crm/kehu/services/customer/internal/store"
	"github.com/kehu-crm/kehu/services/customer/migrations"
)

// KeyRotation is what RotateKeys did.
type KeyRotation struct {
	// DataKey is the id of the data key that seals from now on.
	DataKey uint32
	// Rewrapped counts the keys re-wrapped under the first configured KEK.
	Rewrapped int
	// Customers, Merges and Events count the values re-encrypted under
	// DataKey.
	Customers, Merges, Events int64
}

// RotateKeys rotates the customer schema's keys while the service runs
// (`kehuctl rotate-pii-keys`): with newDataKey it generates a data key
// that seals from then on (running replicas take it up within a minute);
// it re-wraps every key under the first KEK of cfg.PIIKEKs, after which
// the older KEKs can be removed; and it re-encrypts under the newest data
// key whatever an older one sealed. Values a replica seals under the old
// key before taking up the new one are re-encrypted by the service's
// periodic pass (KEHU_PII_RESEAL_INTERVAL), or by running this again.
func RotateKeys(ctx context.Context, cfg Config, newDataKey bool) (KeyRotation, error) {
	var out KeyRotation
	wrapper, err := envelope.Configured(cfg.PIIKEKs, cfg.Development())
	if err != nil {
		return out, fmt.Errorf("configuration: %w", err)
	}
	pool, err := pg.Connect(ctx, cfg.DatabaseURL, migrations.Schema)
	if err != nil {
		return out, fmt.Errorf("connecting to PostgreSQL: %w", err)
	}
	defer pool.Close()
	keys, err := envelope.Load(ctx, pool, wrapper)
	if err != nil {
		return out, fmt.Errorf("loading the data keys of personal fields: %w", err)
	}
	if newDataKey {
		if _, err := keys.Rotate(ctx); err != nil {
			return out, fmt.Errorf("generating a data key: %w", err)
		}
	}
	out.DataKey = keys.Current()
	if out.Rewrapped, err = keys.Rewrap(ctx); err != nil {
		return out, fmt.Errorf("re-wrapping the data keys: %w", err)
	}
	n, err := store.New(pool, nil, store.NewCrypto(keys, cfg.DefaultPhoneRegion)).Reseal(ctx, false)
	out.Customers, out.Merges, out.Events = n.Customers, n.Merges, n.Events
	return out, err
}
