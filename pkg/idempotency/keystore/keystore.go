// Package keystore keeps AIP-155 idempotency keys in the idempotency_keys
// table of a service's schema (see package idempotency for the rules). A
// store's transaction type embeds Keys to implement idempotency.Keys.
package keystore

import (
	"bytes"
	"context"
	"embed"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/kehu-crm/kehu/pkg/errs"
	"github.com/kehu-crm/kehu/pkg/idempotency"
	"github.com/kehu-crm/kehu/pkg/pg"
)

//go:embed migrations/*.sql
var migrationFiles embed.FS

// Migrations create the idempotency_keys table in a service's schema.
var Migrations = pg.Source{Name: "idempotency", FS: pg.Sub(migrationFiles, "migrations")}

// Keys stores keys in one transaction.
type Keys struct {
	Tx pgx.Tx
}

var _ idempotency.Keys = Keys{}

// Claim implements idempotency.Keys. A concurrent request with the same
// caller and key waits on the primary key until the first one's
// transaction ends.
func (k Keys) Claim(ctx context.Context, caller, method, key string, fingerprint []byte) (string, bool, error) {
	tag, err := k.Tx.Exec(ctx, `
		INSERT INTO idempotency_keys (caller, method, request_id, fingerprint) VALUES ($1, $2, $3, $4)
		ON CONFLICT DO NOTHING`, caller, method, key, fingerprint)
	if err != nil {
		return "", false, pg.Classify(err)
	}
	if tag.RowsAffected() == 1 {
		return "", false, nil
	}
	var prior []byte
	var result string
	err = k.Tx.QueryRow(ctx, `SELECT fingerprint, result FROM idempotency_keys
		WHERE caller = $1 AND method = $2 AND request_id = $3`, caller, method, key).Scan(&prior, &result)
	if err != nil {
		return "", false, pg.Classify(err)
	}
	if !bytes.Equal(prior, fingerprint) {
		return "", false, errs.InvalidFieldReason("REQUEST_ID_REUSED", "request_id", "already used with a different request body")
	}
	return result, true, nil
}

// Complete implements idempotency.Keys.
func (k Keys) Complete(ctx context.Context, caller, method, key, result string) error {
	_, err := k.Tx.Exec(ctx, `UPDATE idempotency_keys SET result = $4
		WHERE caller = $1 AND method = $2 AND request_id = $3`, caller, method, key, result)
	return pg.Classify(err)
}

// pruneBatch bounds one DELETE, so pruning a large backlog never holds
// locks for long.
const pruneBatch = 5000

// Prune deletes the keys created before cutoff and returns how many; a
// retry with one of them afterwards is a new request (AIP-155 retention).
func Prune(ctx context.Context, pool *pgxpool.Pool, cutoff time.Time) (int64, error) {
	var total int64
	for {
		tag, err := pool.Exec(ctx, `DELETE FROM idempotency_keys WHERE ctid = ANY(ARRAY(
			SELECT ctid FROM idempotency_keys WHERE create_time < $1 LIMIT $2))`, cutoff, pruneBatch)
		if err != nil {
			return total, pg.Classify(err)
		}
		total += tag.RowsAffected()
		if tag.RowsAffected() < pruneBatch {
			return total, nil
		}
	}
}
