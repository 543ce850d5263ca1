package envelope

import (
	"context"
	"crypto/cipher"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/kehu-crm/kehu/pkg/pg"
)

// Sealed values are version, data key id (big-endian uint32), nonce, then
// ciphertext and tag. The version leaves room for another cipher; a
// protobuf message (0x0a) or JSON ('{', '[') never starts with it, so a
// column half-way through an upgrade tells sealed from plain values.
const (
	version   = 1
	headerLen = 1 + 4
	nonceLen  = 12
	tagLen    = 16
)

// IndexBytes is how much of the HMAC-SHA256 a blind index keeps: 128
// bits, far from any collision among a CRM's contacts, half the size.
const IndexBytes = 16

// ErrUndecryptable is what Open returns for a value no key opens: sealed
// under a data key this keyring does not have, tampered with, or moved
// from the row and column it was sealed for.
var ErrUndecryptable = errors.New("envelope: value cannot be decrypted (unknown data key, tampered, or sealed for another row or column)")

// Keyring holds a service's unwrapped data keys and its index key, loaded
// from the data_keys table of the pool's schema. It is safe for
// concurrent use.
type Keyring struct {
	pool    *pgxpool.Pool
	wrapper KeyWrapper

	mu      sync.RWMutex
	data    map[uint32]cipher.AEAD
	current uint32
	index   []byte
}

// Load returns the keyring of the pool's schema, generating its first
// data key and its index key if it has none (under a lock, so that
// replicas starting together agree on them).
func Load(ctx context.Context, pool *pgxpool.Pool, wrapper KeyWrapper) (*Keyring, error) {
	k := &Keyring{pool: pool, wrapper: wrapper, data: map[uint32]cipher.AEAD{}}
	if err := k.reload(ctx); err != nil {
		return nil, err
	}
	if k.current != 0 && k.index != nil {
		return k, nil
	}
	err := k.inLockedTx(ctx, func(tx pgx.Tx) error {
		var haveData, haveIndex bool
		if err := tx.QueryRow(ctx, `SELECT EXISTS (SELECT 1 FROM data_keys WHERE purpose = 'data'),
			EXISTS (SELECT 1 FROM data_keys WHERE purpose = 'index')`).Scan(&haveData, &haveIndex); err != nil {
			return err
		}
		if !haveIndex {
			if _, err := k.insertKey(ctx, tx, "index"); err != nil {
				return err
			}
		}
		if !haveData {
			if _, err := k.insertKey(ctx, tx, "data"); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return k, k.reload(ctx)
}

// Rotate generates a new data key, which seals from now on in this
// process (and in the others when they next load, on their first value
// sealed under it or at their restart). Values sealed before keep opening;
// a re-encryption pass moves them to the new key.
func (k *Keyring) Rotate(ctx context.Context) (uint32, error) {
	var id uint32
	err := k.inLockedTx(ctx, func(tx pgx.Tx) (err error) {
		id, err = k.insertKey(ctx, tx, "data")
		return err
	})
	if err != nil {
		return 0, err
	}
	return id, k.reload(ctx)
}

// Rewrap re-wraps every key not wrapped by the wrapper's current KEK, and
// reports how many it re-wrapped: after it, older KEKs can be dropped from
// the configuration. The keys themselves do not change, so no value needs
// re-encrypting.
func (k *Keyring) Rewrap(ctx context.Context) (int, error) {
	n := 0
	err := k.inLockedTx(ctx, func(tx pgx.Tx) error {
		n = 0
		rows, err := tx.Query(ctx, `SELECT id, purpose, kek_id, wrapped FROM data_keys WHERE kek_id <> $1 ORDER BY id`, k.wrapper.Current())
		stale, err := pg.Collect(rows, err, scanKey)
		if err != nil {
			return err
		}
		for _, s := range stale {
			dek, err := k.wrapper.Unwrap(ctx, s.kekID, s.wrapped, wrapAD(s.id, s.purpose))
			if err != nil {
				return err
			}
			kekID, wrapped, err := k.wrapper.Wrap(ctx, dek, wrapAD(s.id, s.purpose))
			if err != nil {
				return err
			}
			if _, err := tx.Exec(ctx, `UPDATE data_keys SET kek_id = $2, wrapped = $3 WHERE id = $1`, s.id, kekID, wrapped); err != nil {
				return err
			}
			n++
		}
		return nil
	})
	return n, err
}

// Run reloads the keys every interval until ctx ends, so that a data key
// rotated elsewhere (kehuctl, another replica) seals here too within an
// interval, and a re-encryption pass after it finds no stragglers.
func (k *Keyring) Run(ctx context.Context, interval time.Duration) {
	ticker := time.NewTicker(interval)
	defer ticker.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-ticker.C:
		}
		if err := k.reload(ctx); err != nil && ctx.Err() == nil {
			slog.WarnContext(ctx, "reloading data keys failed; retrying", "error", err)
		}
	}
}

// Current is the id of the data key that seals.
func (k *Keyring) Current() uint32 {
	k.mu.RLock()
	defer k.mu.RUnlock()
	return k.current
}

// Seal encrypts plain under the current data key, binding it to ad (say,
// the table, column and row id it is written to).
func (k *Keyring) Seal(plain, ad []byte) []byte {
	k.mu.RLock()
	id, aead := k.current, k.data[k.current]
	k.mu.RUnlock()
	out := make([]byte, headerLen+nonceLen, headerLen+nonceLen+len(plain)+tagLen)
	out[0] = version
	binary.BigEndian.PutUint32(out[1:], id)
	nonce := out[headerLen:]
	_, _ = rand.Read(nonce) // crypto/rand.Read never fails
	return aead.Seal(out, nonce, plain, additional(out[:headerLen], ad))
}

// Open decrypts a value Seal returned for the same ad. A data key it does
// not know yet (generated by another replica's Rotate) is loaded first.
func (k *Keyring) Open(ctx context.Context, sealed, ad []byte) ([]byte, error) {
	id, ok := KeyID(sealed)
	if !ok || len(sealed) < headerLen+nonceLen+tagLen {
		return nil, ErrUndecryptable
	}
	k.mu.RLock()
	aead, newer := k.data[id], id > k.current
	k.mu.RUnlock()
	if aead == nil && newer {
		if err := k.reload(ctx); err != nil {
			return nil, err
		}
		k.mu.RLock()
		aead = k.data[id]
		k.mu.RUnlock()
	}
	if aead == nil {
		return nil, ErrUndecryptable
	}
	plain, err := aead.Open(nil, sealed[headerLen:headerLen+nonceLen], sealed[headerLen+nonceLen:], additional(sealed[:headerLen], ad))
	if err != nil {
		return nil, ErrUndecryptable
	}
	return plain, nil
}

// KeyID is the id of the data key that sealed a value; false if the value
// is not sealed (say, plaintext written before encryption was turned on).
func KeyID(sealed []byte) (uint32, bool) {
	if len(sealed) < headerLen || sealed[0] != version {
		return 0, false
	}
	return binary.BigEndian.Uint32(sealed[1:]), true
}

// Index is the blind index of a normalised value of one kind (say
// "email"): the hex of HMAC-SHA256 under the index key, cut to IndexBytes.
// The kind is part of the MAC, so an e-mail and a phone never share an
// index. Equal values give equal indexes; nothing else can be learnt.
func (k *Keyring) Index(kind, normalized string) string {
	k.mu.RLock()
	mac := hmac.New(sha256.New, k.index)
	k.mu.RUnlock()
	mac.Write([]byte(kind))
	mac.Write([]byte{0})
	mac.Write([]byte(normalized))
	return hex.EncodeToString(mac.Sum(nil)[:IndexBytes])
}

// additional is what GCM authenticates beside the ciphertext: the header
// (so the key id cannot be changed) and the caller's binding.
func additional(header, ad []byte) []byte {
	return append(append(make([]byte, 0, len(header)+len(ad)), header...), ad...)
}

// wrapAD binds a wrapped key to its row: a wrapped data key copied over
// the index key (or another id) does not unwrap.
func wrapAD(id uint32, purpose string) []byte {
	return fmt.Appendf(nil, "kehu data key %d %s", id, purpose)
}

type storedKey struct {
	id      uint32
	purpose string
	kekID   string
	wrapped []byte
}

func scanKey(r pgx.Row) (storedKey, error) {
	var s storedKey
	var id int32
	err := r.Scan(&id, &s.purpose, &s.kekID, &s.wrapped)
	s.id = uint32(id)
	return s, err
}

// reload unwraps the keys this keyring does not hold yet.
func (k *Keyring) reload(ctx context.Context) error {
	rows, err := k.pool.Query(ctx, `SELECT id, purpose, kek_id, wrapped FROM data_keys ORDER BY id`)
	stored, err := pg.Collect(rows, err, scanKey)
	if err != nil {
		return fmt.Errorf("reading data keys: %w", err)
	}
	k.mu.RLock()
	var missing []storedKey
	for _, s := range stored {
		if (s.purpose == "data" && k.data[s.id] == nil) || (s.purpose == "index" && k.index == nil) {
			missing = append(missing, s)
		}
	}
	k.mu.RUnlock()
	for _, s := range missing {
		key, err := k.wrapper.Unwrap(ctx, s.kekID, s.wrapped, wrapAD(s.id, s.purpose))
		if err != nil {
			return err
		}
		k.mu.Lock()
		if s.purpose == "index" {
			k.index = key
		} else {
			aead, err := newGCM(key)
			if err != nil {
				k.mu.Unlock()
				return err
			}
			k.data[s.id] = aead
			k.current = max(k.current, s.id)
		}
		k.mu.Unlock()
	}
	return nil
}

// inLockedTx runs fn in a transaction holding the schema's data-key lock.
func (k *Keyring) inLockedTx(ctx context.Context, fn func(pgx.Tx) error) error {
	return pg.InTx(ctx, k.pool, pgx.ReadCommitted, func(tx pgx.Tx) error {
		if _, err := tx.Exec(ctx, `SELECT pg_advisory_xact_lock(hashtext(current_schema() || '.data_keys'))`); err != nil {
			return err
		}
		return fn(tx)
	})
}

// insertKey generates a key of purpose, wraps it and stores it under the
// next id.
func (k *Keyring) insertKey(ctx context.Context, tx pgx.Tx, purpose string) (uint32, error) {
	var next int32
	if err := tx.QueryRow(ctx, `SELECT coalesce(max(id), 0) + 1 FROM data_keys`).Scan(&next); err != nil {
		return 0, err
	}
	id := uint32(next)
	key := make([]byte, 32)
	_, _ = rand.Read(key)
	kekID, wrapped, err := k.wrapper.Wrap(ctx, key, wrapAD(id, purpose))
	if err != nil {
		return 0, err
	}
	_, err = tx.Exec(ctx, `INSERT INTO data_keys (id, purpose, kek_id, wrapped) VALUES ($1, $2, $3, $4)`, next, purpose, kekID, wrapped)
	return id, err
}
