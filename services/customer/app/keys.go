package app

import (
	"context"

	"github.com/kehu-crm/kehu/pkg/service"
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
	r, err := service.RotateKeys(ctx, cfg.Service, migrations.Schema, newDataKey)
	if err != nil {
		return out, err
	}
	defer r.Close()
	out.DataKey, out.Rewrapped = r.DataKey, r.Rewrapped
	n, err := store.New(r.Pool, nil, store.NewCrypto(r.Keys, cfg.DefaultPhoneRegion)).Reseal(ctx, false)
	out.Customers, out.Merges, out.Events = n.Customers, n.Merges, n.Events
	return out, err
}
