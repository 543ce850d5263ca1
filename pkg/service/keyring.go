package service

import (
	"context"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/kehu-crm/kehu/pkg/config"
	"github.com/kehu-crm/kehu/pkg/envelope"
	"github.com/kehu-crm/kehu/pkg/pg"
)

// keyReload is how often a replica reloads the data keys: a data key
// rotated elsewhere (kehuctl, another replica) seals here from then on.
const keyReload = time.Minute

// Keyring loads the data keys of the service's schema (its migrations
// must include envelope.Migrations), unwrapped by the KEKs of
// KEHU_PII_KEKS, and reloads them while the service runs. Outside
// development the service refuses to start without a KEK of its own
// (envelope.Configured), so personal data is never written in the clear.
func (s *Service) Keyring(ctx context.Context) (*envelope.Keyring, error) {
	wrapper, err := envelope.Configured(s.cfg.PIIKEKs, s.cfg.Development())
	if err != nil {
		return nil, fmt.Errorf("configuration: %w", err)
	}
	keys, err := envelope.Load(ctx, s.Pool, wrapper)
	if err != nil {
		return nil, fmt.Errorf("loading the data keys of personal fields: %w", err)
	}
	s.Go(func(ctx context.Context) { keys.Run(ctx, keyReload) })
	return keys, nil
}

// KeyRotation is what RotateKeys did to a schema's keys.
type KeyRotation struct {
	// Keys and Pool are the schema's keyring and a pool in the schema
	// (closed by Close), for re-encrypting what an older data key sealed.
	Keys *envelope.Keyring
	Pool *pgxpool.Pool
	// DataKey is the id of the data key that seals from now on.
	DataKey uint32
	// Rewrapped counts the keys re-wrapped under the first configured KEK.
	Rewrapped int
}

// Close closes Pool.
func (r KeyRotation) Close() { r.Pool.Close() }

// RotateKeys rotates the keys of a schema while its service runs
// (`kehuctl rotate-pii-keys`): with newDataKey it generates a data key
// that seals from then on (running replicas take it up within keyReload);
// it re-wraps every key under the first KEK of cfg.PIIKEKs, after which
// the older KEKs can be removed. Close the rotation when done.
func RotateKeys(ctx context.Context, cfg config.Service, schema string, newDataKey bool) (_ KeyRotation, err error) {
	wrapper, err := envelope.Configured(cfg.PIIKEKs, cfg.Development())
	if err != nil {
		return KeyRotation{}, fmt.Errorf("configuration: %w", err)
	}
	pool, err := pg.Connect(ctx, cfg.DatabaseURL, schema)
	if err != nil {
		return KeyRotation{}, fmt.Errorf("connecting to PostgreSQL: %w", err)
	}
	defer func() {
		if err != nil {
			pool.Close()
		}
	}()
	out := KeyRotation{Pool: pool}
	if out.Keys, err = envelope.Load(ctx, pool, wrapper); err != nil {
		return KeyRotation{}, fmt.Errorf("loading the data keys of %s: %w", schema, err)
	}
	if newDataKey {
		if _, err := out.Keys.Rotate(ctx); err != nil {
			return KeyRotation{}, fmt.Errorf("generating a data key in %s: %w", schema, err)
		}
	}
	out.DataKey = out.Keys.Current()
	if out.Rewrapped, err = out.Keys.Rewrap(ctx); err != nil {
		return KeyRotation{}, fmt.Errorf("re-wrapping the data keys of %s: %w", schema, err)
	}
	return out, nil
}
