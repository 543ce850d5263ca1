package keystore_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/kehu-crm/kehu/pkg/auth"
	"github.com/kehu-crm/kehu/pkg/errs"
	"github.com/kehu-crm/kehu/pkg/idempotency"
	"github.com/kehu-crm/kehu/pkg/idempotency/keystore"
	"github.com/kehu-crm/kehu/pkg/pg"
	"github.com/kehu-crm/kehu/pkg/testdb"
)

// inTx is a store's InTx in miniature: the transaction offers the keys.
func inTx(pool *pgxpool.Pool) func(context.Context, func(context.Context, keystore.Keys) error) error {
	return func(ctx context.Context, fn func(context.Context, keystore.Keys) error) error {
		return pg.InTx(ctx, pool, pgx.ReadCommitted, func(tx pgx.Tx) error { return fn(ctx, keystore.Keys{Tx: tx}) })
	}
}

// TestRun: the first request does the work, a retry with the same body gets
// its result without doing it again, a different body is refused, a failed
// request leaves its key free, and no key means no bookkeeping.
func TestRun(t *testing.T) {
	ctx := auth.NewContext(context.Background(), auth.Principal{Subject: "alice"})
	pool, err := pg.Connect(ctx, testdb.New(t, pg.Migrations{Schema: "svc", Sources: []pg.Source{keystore.Migrations}}), "svc")
	if err != nil {
		t.Fatal(err)
	}
	defer pool.Close()
	runs := 0
	work := func(result string, fail error) func(context.Context, keystore.Keys) (string, error) {
		return func(context.Context, keystore.Keys) (string, error) {
			runs++
			return result, fail
		}
	}
	run := func(key string, input any, fn func(context.Context, keystore.Keys) (string, error)) (string, bool, error) {
		return idempotency.Run(ctx, inTx(pool), "Create", key, input, fn)
	}

	if r, replayed, err := run("k1", "body", work("id-1", nil)); err != nil || r != "id-1" || replayed {
		t.Fatalf("first: %q %v %v", r, replayed, err)
	}
	if r, replayed, err := run("k1", "body", work("id-2", nil)); err != nil || r != "id-1" || !replayed || runs != 1 {
		t.Fatalf("retry: %q replayed=%v %v after %d runs; want id-1 replayed after 1 run", r, replayed, err, runs)
	}
	if _, _, err := run("k1", "other body", work("id-3", nil)); !errs.Is(err, errs.KindInvalidArgument) {
		t.Fatalf("reused key with another body: %v", err)
	}
	boom := errors.New("boom")
	if _, _, err := run("k2", "body", work("", boom)); !errors.Is(err, boom) {
		t.Fatalf("failing work: %v", err)
	}
	if r, _, err := run("k2", "body", work("id-4", nil)); err != nil || r != "id-4" {
		t.Fatalf("key of a failed request is not free again: %q %v", r, err)
	}
	if _, _, err := run("", "body", work("id-5", nil)); err != nil {
		t.Fatal(err)
	}
	var keys int
	if err := pool.QueryRow(ctx, `SELECT count(*) FROM idempotency_keys`).Scan(&keys); err != nil || keys != 2 {
		t.Fatalf("%d keys stored (%v), want 2", keys, err)
	}
	// Another caller who learns alice's id does not get her result: the
	// same id is a new request of theirs.
	bob := auth.NewContext(context.Background(), auth.Principal{Subject: "bob"})
	if r, replayed, err := idempotency.Run(bob, inTx(pool), "Create", "k1", "body", work("id-bob", nil)); err != nil || replayed || r != "id-bob" {
		t.Fatalf("bob replaying alice's id: %q replayed=%v %v", r, replayed, err)
	}

	// Expired keys are pruned; the id is then a new request.
	if _, err := pool.Exec(ctx, `UPDATE idempotency_keys SET create_time = now() - interval '4 days' WHERE request_id = 'k1'`); err != nil {
		t.Fatal(err)
	}
	if n, err := keystore.Prune(ctx, pool, time.Now().Add(-72*time.Hour)); err != nil || n != 2 {
		t.Fatalf("pruned %d (%v), want alice's and bob's k1", n, err)
	}
	if r, replayed, err := run("k1", "another body", work("id-7", nil)); err != nil || replayed || r != "id-7" {
		t.Fatalf("expired key: %q replayed=%v %v", r, replayed, err)
	}

	long := make([]byte, idempotency.MaxKeyLength+1)
	for i := range long {
		long[i] = 'x'
	}
	if _, _, err := run(string(long), "body", work("id-6", nil)); !errs.Is(err, errs.KindInvalidArgument) {
		t.Fatalf("over-long key: %v", err)
	}
}
