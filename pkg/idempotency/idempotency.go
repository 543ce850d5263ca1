// Package idempotency implements AIP-155 request ids for mutations: the
// first request with a key does the work and stores its result in the same
// transaction; a retry with the same key and body gets that result without
// doing the work again; the same key with a different body is an error, so
// a client bug cannot silently return someone else's result.
//
// This package is what the domain uses and has no database dependency;
// package keystore stores the keys in PostgreSQL.
package idempotency

import (
	"context"
	"crypto/sha256"
	"encoding/json"
	"fmt"

	"github.com/kehu-crm/kehu/pkg/auth"
	"github.com/kehu-crm/kehu/pkg/errs"
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

// Keys records request ids inside the transaction of the change they guard.
// Keys are scoped to the caller (the authenticated subject): the same id
// from two callers is two requests, so nobody can replay someone else's.
type Keys interface {
	// Claim registers caller's key for method. It returns (result, true)
	// when the key was used before by the same request; the use case then
	// returns that result and does nothing else.
	Claim(ctx context.Context, caller, method, key string, fingerprint []byte) (result string, replayed bool, err error)
	// Complete stores the result (a resource id) of the claimed key.
	Complete(ctx context.Context, caller, method, key, result string) error
}

// Run runs fn in one transaction (opened by inTx, a store's InTx) guarded
// by requestID of the caller in ctx. Without a request id it just runs fn.
// With one seen before it returns the earlier result without running fn
// (replayed), or fails if the body differs. The result is an id: the use
// case reads what it names through its usual access checks, so a replay
// never shows more than the caller may see now.
func Run[T Keys](ctx context.Context, inTx func(context.Context, func(context.Context, T) error) error,
	method, requestID string, input any, fn func(context.Context, T) (string, error),
) (result string, replayed bool, err error) {
	if err := CheckKey(requestID); err != nil {
		return "", false, err
	}
	fp := Fingerprint(method, input)
	p, _ := auth.FromContext(ctx)
	err = inTx(ctx, func(ctx context.Context, tx T) error {
		// A retried transaction starts over.
		result, replayed = "", false
		if requestID != "" {
			prior, seen, err := tx.Claim(ctx, p.Subject, method, requestID, fp)
			if err != nil {
				return err
			}
			if seen {
				result, replayed = prior, true
				return nil
			}
		}
		r, err := fn(ctx, tx)
		if err != nil {
			return err
		}
		result = r
		if requestID != "" {
			return tx.Complete(ctx, p.Subject, method, requestID, r)
		}
		return nil
	})
	return result, replayed, err
}
