package store

import (
	"context"
	"errors"
	"slices"

	"github.com/jackc/pgx/v5"

	"github.com/kehu-crm/kehu/pkg/pg"
)

// The contacts table gives every e-mail and phone of a live customer one
// owner (see migrations/0002_contacts.sql). Claims are written after the
// customer row, releases after the row stopped listing the contact. A
// contact's value is its blind index (migrations/0005), so the database
// enforces uniqueness without holding the contact.

// wantedContacts lists a customer's contacts as (kind, value) rows; $2 are
// the e-mails' indexes and $3 the phones'.
const wantedContacts = `SELECT DISTINCT kind, value FROM (
		SELECT 'email' AS kind, unnest($2::text[]) AS value
		UNION ALL SELECT 'phone', unnest($3::text[])) w`

// ClaimContacts implements customer.Tx.
func (t *tx) ClaimContacts(ctx context.Context, id string, emails, phones []string) (string, error) {
	if len(emails) == 0 && len(phones) == 0 {
		return "", nil
	}
	emails, phones = t.crypto.indexes(kindEmail, emails), t.crypto.indexes(kindPhone, phones)
	// ON CONFLICT waits for a concurrent claim to commit or roll back, so
	// of two creates racing for one contact exactly one owns it.
	tag, err := t.tx.Exec(ctx, `
		INSERT INTO contacts (kind, value, customer_id)
		SELECT kind, value, $1::uuid FROM (`+wantedContacts+`) wanted
		ON CONFLICT (kind, value) DO NOTHING`, id, emails, phones)
	if err != nil {
		return "", pg.Classify(err)
	}
	if tag.RowsAffected() == int64(distinct(emails)+distinct(phones)) {
		return "", nil
	}
	// A new statement sees the claim that won the race.
	var owner string
	err = t.tx.QueryRow(ctx, `
		SELECT x.customer_id::text FROM (`+wantedContacts+`) wanted
		JOIN contacts x USING (kind, value)
		WHERE x.customer_id <> $1::uuid
		ORDER BY x.kind, x.value LIMIT 1`, id, emails, phones).Scan(&owner)
	if errors.Is(err, pgx.ErrNoRows) {
		return "", nil
	}
	return owner, pg.Classify(err)
}

// ReleaseContacts implements customer.Tx.
func (t *tx) ReleaseContacts(ctx context.Context, id string, emails, phones []string) error {
	if len(emails) == 0 && len(phones) == 0 {
		return nil
	}
	emails, phones = t.crypto.indexes(kindEmail, emails), t.crypto.indexes(kindPhone, phones)
	rows, err := t.tx.Query(ctx, `
		DELETE FROM contacts x USING (`+wantedContacts+`) wanted
		WHERE x.customer_id = $1::uuid AND x.kind = wanted.kind AND x.value = wanted.value
		RETURNING x.kind, x.value`, id, emails, phones)
	return rehome(ctx, t.tx, rows, err, []string{id})
}

// ReleaseAllContacts implements customer.Tx.
func (t *tx) ReleaseAllContacts(ctx context.Context, ids []string) error {
	return releaseAll(ctx, t.tx, ids)
}

func releaseAll(ctx context.Context, q pgx.Tx, ids []string) error {
	rows, err := q.Query(ctx, `DELETE FROM contacts WHERE customer_id = ANY($1::uuid[]) RETURNING kind, value`, ids)
	return rehome(ctx, q, rows, err, ids)
}

// rehome hands each released contact to the oldest live customer, other
// than the ones releasing, that still lists it.
func rehome(ctx context.Context, q pgx.Tx, released pgx.Rows, err error, except []string) error {
	type contact struct{ kind, value string }
	freed, err := pg.Collect(released, err, func(r pgx.Row) (contact, error) {
		var c contact
		return c, r.Scan(&c.kind, &c.value)
	})
	if err != nil || len(freed) == 0 {
		return err
	}
	kinds, values := make([]string, len(freed)), make([]string, len(freed))
	for i, c := range freed {
		kinds[i], values[i] = c.kind, c.value
	}
	_, err = q.Exec(ctx, `
		INSERT INTO contacts (kind, value, customer_id)
		SELECT DISTINCT ON (kind, value) kind, value, id FROM (
			SELECT f.kind, f.value, c.id, c.create_time
			FROM unnest($1::text[], $2::text[]) AS f(kind, value)
			JOIN customers c ON f.kind = 'email' AND c.email_index @> ARRAY[f.value]
			WHERE c.delete_time IS NULL AND c.merged_into IS NULL AND c.id <> ALL($3::uuid[])
			UNION ALL
			SELECT f.kind, f.value, c.id, c.create_time
			FROM unnest($1::text[], $2::text[]) AS f(kind, value)
			JOIN customers c ON f.kind = 'phone' AND c.phone_index @> ARRAY[f.value]
			WHERE c.delete_time IS NULL AND c.merged_into IS NULL AND c.id <> ALL($3::uuid[])
		) holders
		ORDER BY kind, value, create_time, id
		ON CONFLICT (kind, value) DO NOTHING`, kinds, values, except)
	return pg.Classify(err)
}

func distinct(values []string) int {
	return len(slices.Compact(slices.Sorted(slices.Values(values))))
}
