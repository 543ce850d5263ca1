package store

import (
	"context"
	"encoding/binary"
	"fmt"

	"github.com/jackc/pgx/v5"

	"github.com/kehu-crm/kehu/pkg/envelope"
	"github.com/kehu-crm/kehu/pkg/outbox"
	"github.com/kehu-crm/kehu/pkg/pg"
	"github.com/kehu-crm/kehu/services/customer/internal/customer"
)

// resealBatch is how many rows one transaction of a pass reseals.
const resealBatch = 500

// Resealed counts what a pass sealed anew.
type Resealed struct {
	Customers, Merges, Events int64
}

// Reseal seals under the current data key everything personal that is
// not: rows written before encryption (plaintext, pii NULL: their contacts
// become blind indexes in the same transaction), and values sealed under
// an older data key (after Keyring.Rotate). It covers customers, merge
// snapshots and outbox payloads, a batch per transaction, and is
// idempotent: a second pass finds nothing. With legacyOnly it seals only
// plaintext, the start-up duty before contacts can be claimed by index.
func (s *Store) Reseal(ctx context.Context, legacyOnly bool) (Resealed, error) {
	var (
		n   Resealed
		err error
	)
	stale := s.staleCondition(legacyOnly)
	if n.Customers, err = s.resealLoop(ctx, func(ctx context.Context, t pgx.Tx, after string) (string, int, error) {
		return s.resealCustomers(ctx, t, after, stale("pii"))
	}); err != nil {
		return n, fmt.Errorf("resealing customers: %w", err)
	}
	if n.Merges, err = s.resealLoop(ctx, func(ctx context.Context, t pgx.Tx, after string) (string, int, error) {
		return s.resealMerges(ctx, t, after, stale("snapshots"))
	}); err != nil {
		return n, fmt.Errorf("resealing merge snapshots: %w", err)
	}
	if n.Events, err = s.resealLoop(ctx, func(ctx context.Context, t pgx.Tx, after string) (string, int, error) {
		return s.resealEvents(ctx, t, after, stale("payload"))
	}); err != nil {
		return n, fmt.Errorf("resealing event payloads: %w", err)
	}
	return n, nil
}

// staleCondition says in SQL that a sealed column is plain (NULL for the
// customers and merges; for the outbox, whose NULL payloads were erased, a
// payload not starting with the envelope version) or, unless legacyOnly,
// sealed under an older data key than the current one. Both match the
// indexes of migrations/0005, so a pass with nothing to do reads no table.
func (s *Store) staleCondition(legacyOnly bool) func(col string) string {
	var current [4]byte
	binary.BigEndian.PutUint32(current[:], s.crypto.keys.Current())
	return func(col string) string {
		plain := col + " IS NULL"
		if col == "payload" {
			plain = "(payload IS NOT NULL AND get_byte(payload, 0) <> 1)"
		}
		if legacyOnly {
			return plain
		}
		return fmt.Sprintf(`(%s OR substring(%s from 2 for 4) < '\x%x'::bytea)`, plain, col, current)
	}
}

// resealLoop runs batches in their own transactions, each after the key
// the last one ended at, until one finds nothing.
func (s *Store) resealLoop(ctx context.Context, batch func(context.Context, pgx.Tx, string) (string, int, error)) (int64, error) {
	var total int64
	after := ""
	for {
		var n int
		err := pg.InTx(ctx, s.pool, pgx.ReadCommitted, func(t pgx.Tx) (err error) {
			after, n, err = batch(ctx, t, after)
			return err
		})
		if err != nil || n == 0 {
			return total, err
		}
		total += int64(n)
	}
}

func (s *Store) resealCustomers(ctx context.Context, t pgx.Tx, after, stale string) (string, int, error) {
	rows, err := t.Query(ctx, `SELECT `+columns+` FROM customers c
		WHERE c.id > coalesce(nullif($1, '')::uuid, '00000000-0000-0000-0000-000000000000') AND `+stale+`
		ORDER BY c.id LIMIT $2 FOR UPDATE OF c`, after, resealBatch)
	type stored struct {
		c      *customer.Customer
		legacy bool
	}
	found, err := pg.Collect(rows, err, func(r pgx.Row) (stored, error) {
		c, pii, err := scanCustomer(r)
		if err != nil {
			return stored{}, err
		}
		return stored{c, pii == nil}, s.crypto.open(ctx, c, pii)
	})
	if err != nil || len(found) == 0 {
		return after, 0, err
	}
	batch := &pgx.Batch{}
	var kinds, plains, indexes []string
	for _, f := range found {
		r, err := s.crypto.row(f.c)
		if err != nil {
			return after, 0, err
		}
		batch.Queue(`UPDATE customers SET email_index = $2, phone_index = $3, address = $4, birthday = '',
			pii = $5 WHERE id = $1`, f.c.ID, r.emailIndex, r.phoneIndex, r.place, r.pii)
		if !f.legacy {
			continue
		}
		for i, e := range f.c.Emails {
			kinds, plains, indexes = append(kinds, kindEmail), append(plains, e), append(indexes, r.emailIndex[i])
		}
		for i, p := range f.c.Phones {
			kinds, plains, indexes = append(kinds, kindPhone), append(plains, p), append(indexes, r.phoneIndex[i])
		}
	}
	if len(plains) > 0 {
		// A contact claimed under its index meanwhile (a replica already
		// sealing while this one was not) keeps that claim; the plaintext
		// claim goes either way.
		batch.Queue(`UPDATE contacts x SET value = m.idx
			FROM unnest($1::text[], $2::text[], $3::text[]) AS m(kind, plain, idx)
			WHERE x.kind = m.kind AND x.value = m.plain
			  AND NOT EXISTS (SELECT 1 FROM contacts y WHERE y.kind = m.kind AND y.value = m.idx)`, kinds, plains, indexes)
		batch.Queue(`DELETE FROM contacts x USING unnest($1::text[], $2::text[]) AS m(kind, plain)
			WHERE x.kind = m.kind AND x.value = m.plain`, kinds, plains)
	}
	if err := t.SendBatch(ctx, batch).Close(); err != nil {
		return after, 0, err
	}
	return found[len(found)-1].c.ID, len(found), nil
}

func (s *Store) resealMerges(ctx context.Context, t pgx.Tx, after, stale string) (string, int, error) {
	rows, err := t.Query(ctx, `SELECT merged_id::text FROM merges
		WHERE merged_id > coalesce(nullif($1, '')::uuid, '00000000-0000-0000-0000-000000000000') AND `+stale+`
		ORDER BY merged_id LIMIT $2 FOR UPDATE`, after, resealBatch)
	ids, err := pg.Collect(rows, err, func(r pgx.Row) (string, error) {
		var id string
		return id, r.Scan(&id)
	})
	if err != nil || len(ids) == 0 {
		return after, 0, err
	}
	tx := &tx{tx: t, crypto: s.crypto}
	for _, id := range ids {
		// TakeMerge opens plain or sealed snapshots; InsertMerge writes
		// them back sealed, in the same transaction.
		m, err := tx.TakeMerge(ctx, id)
		if err != nil {
			return after, 0, err
		}
		if err := tx.InsertMerge(ctx, m); err != nil {
			return after, 0, err
		}
	}
	return ids[len(ids)-1], len(ids), nil
}

func (s *Store) resealEvents(ctx context.Context, t pgx.Tx, after, stale string) (string, int, error) {
	rows, err := t.Query(ctx, `SELECT sequence, id::text, payload FROM outbox
		WHERE sequence > coalesce(nullif($1, '')::bigint, 0) AND `+stale+`
		ORDER BY sequence LIMIT $2 FOR UPDATE`, after, resealBatch)
	type event struct {
		sequence int64
		id       string
		payload  []byte
	}
	found, err := pg.Collect(rows, err, func(r pgx.Row) (event, error) {
		var e event
		return e, r.Scan(&e.sequence, &e.id, &e.payload)
	})
	if err != nil || len(found) == 0 {
		return after, 0, err
	}
	batch := &pgx.Batch{}
	for _, e := range found {
		plain := e.payload
		if _, sealed := envelope.KeyID(e.payload); sealed {
			if plain, err = s.crypto.keys.Open(ctx, e.payload, outbox.PayloadAD(e.id)); err != nil {
				return after, 0, fmt.Errorf("event %s: %w", e.id, err)
			}
		}
		batch.Queue(`UPDATE outbox SET payload = $2 WHERE sequence = $1`, e.sequence, s.crypto.keys.Seal(plain, outbox.PayloadAD(e.id)))
	}
	if err := t.SendBatch(ctx, batch).Close(); err != nil {
		return after, 0, err
	}
	return fmt.Sprint(found[len(found)-1].sequence), len(found), nil
}
