// Package idempotency implements AIP-155 request ids for mutations: the
// first request with a key does the work and stores its result in the same
// transaction; a retry with the same key and body gets that result without
// doing the work again; the same key with a different body is an error, so
// a client bug cannot silently return someone else's result.
//
// Keys live in each service's idempotency_keys table:
//
//	CREATE TABLE idempotency_keys (
//	    method text, request_id text, fingerprint bytea,
//	    result text NOT NULL DEFAULT '', create_time timestamptz NOT NULL DEFAULT now(),
//	    PRIMARY KEY (method, request_id))
package idempotency

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/json"
	"fmt"

	"github.com/jackc/pgx/v5"

	"github.com/kehu-crm/kehu/pkg/errs"
	"github.com/kehu-crm/kehu/pkg/pg"
)

// MaxKeyLength bounds request ids.
const MaxKeyLength = 128

// Fingerprint identifies a request body (any JSON-encodable input).
func Fingerprint(method string, input any) []byte {
	b, err := json.Marshal(input)
	if err != nil {
		// Inputs are plain structs; failing to marshal one is a bug.
		panic(fmt.Sprintf("idempotency: fingerprinting %s: %v", method, err))
	}
	sum := sha256.Sum256(append([]byte(method+"\x00"), b...))
	return sum[:]
}

// CheckKey validates a request id.
func CheckKey(key string) error {
	if len(key) > MaxKeyLength {
		return errs.InvalidField("request_id", "must be at most %d characters", MaxKeyLength)
	}
	return nil
}

// Claim registers key for method inside tx. It returns (result, true) when
// the key was used before by the same request, so the caller must return
// that result and do nothing else. A concurrent request with the same key
// waits on the primary key until this transaction ends.
func Claim(ctx context.Context, tx pgx.Tx, method, key string, fingerprint []byte) (string, bool, error) {
	tag, err := tx.Exec(ctx, `
		INSERT INTO idempotency_keys (method, request_id, fingerprint) VALUES ($1, $2, $3)
		ON CONFLICT DO NOTHING`, method, key, fingerprint)
	if err != nil {
		return "", false, pg.Classify(err)
	}
	if tag.RowsAffected() == 1 {
		return "", false, nil
	}
	var prior []byte
	var result string
	err = tx.QueryRow(ctx, `SELECT fingerprint, result FROM idempotency_keys WHERE method = $1 AND request_id = $2`,
		method, key).Scan(&prior, &result)
	if err != nil {
		return "", false, pg.Classify(err)
	}
	if !bytes.Equal(prior, fingerprint) {
		return "", false, &errs.Error{
			Kind:       errs.KindInvalidArgument,
			Reason:     "REQUEST_ID_REUSED",
			Message:    "request_id was already used for a different request",
			Violations: []errs.FieldViolation{{Field: "request_id", Description: "already used with a different request body"}},
		}
	}
	return result, true, nil
}

// Complete stores the result of the request that claimed key.
func Complete(ctx context.Context, tx pgx.Tx, method, key, result string) error {
	_, err := tx.Exec(ctx, `UPDATE idempotency_keys SET result = $3 WHERE method = $1 AND request_id = $2`,
		method, key, result)
	return pg.Classify(err)
}
