package pg_test

import (
	"context"
	"errors"
	"slices"
	"sync"
	"testing"
	"testing/fstest"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"

	"github.com/kehu-crm/kehu/pkg/errs"
	"github.com/kehu-crm/kehu/pkg/pg"
	"github.com/kehu-crm/kehu/pkg/testdb"
)

func migrations(files map[string]string) fstest.MapFS {
	fs := fstest.MapFS{}
	for name, sql := range files {
		fs[name] = &fstest.MapFile{Data: []byte(sql)}
	}
	return fs
}

func TestMigrate(t *testing.T) {
	ctx := context.Background()
	pool, err := pg.Connect(ctx, testdb.New(t), "app")
	if err != nil {
		t.Fatal(err)
	}
	defer pool.Close()
	v1 := migrations(map[string]string{
		"0001_things.sql": `CREATE TABLE things (id int PRIMARY KEY);`,
		"0002_more.sql":   `INSERT INTO things VALUES (1), (2);`,
	})
	// Replicas starting together apply each migration exactly once.
	var wg sync.WaitGroup
	errc := make(chan error, 4)
	for range 4 {
		wg.Add(1)
		go func() { defer wg.Done(); errc <- pg.Migrate(ctx, pool, "app", pg.Source{FS: v1}) }()
	}
	wg.Wait()
	close(errc)
	for err := range errc {
		if err != nil {
			t.Fatal(err)
		}
	}
	var things, applied int
	if err := pool.QueryRow(ctx, `SELECT (SELECT count(*) FROM things), (SELECT count(*) FROM app.schema_migrations)`).Scan(&things, &applied); err != nil {
		t.Fatal(err)
	}
	if things != 2 || applied != 2 {
		t.Fatalf("%d things and %d applied migrations, want 2 and 2", things, applied)
	}

	// A failing migration leaves nothing behind and is not recorded.
	broken := migrations(map[string]string{
		"0001_things.sql": `CREATE TABLE things (id int PRIMARY KEY);`,
		"0002_more.sql":   `INSERT INTO things VALUES (1), (2);`,
		"0003_bad.sql":    `INSERT INTO things VALUES (3); INSERT INTO nowhere VALUES (1);`,
	})
	if err := pg.Migrate(ctx, pool, "app", pg.Source{FS: broken}); err == nil {
		t.Fatal("broken migration applied")
	}
	if err := pool.QueryRow(ctx, `SELECT (SELECT count(*) FROM things), (SELECT count(*) FROM app.schema_migrations)`).Scan(&things, &applied); err != nil || things != 2 || applied != 2 {
		t.Fatalf("after a failed migration: %d things, %d applied, %v", things, applied, err)
	}

	// History is not rewritten: an applied file that changed is an error.
	changed := migrations(map[string]string{
		"0001_things.sql": `CREATE TABLE things (id bigint PRIMARY KEY);`,
		"0002_more.sql":   `INSERT INTO things VALUES (1), (2);`,
	})
	if err := pg.Migrate(ctx, pool, "app", pg.Source{FS: changed}); err == nil {
		t.Fatal("a changed, applied migration was accepted")
	}
	for name, fs := range map[string]fstest.MapFS{
		"misnamed":  migrations(map[string]string{"things.sql": "SELECT 1"}),
		"duplicate": migrations(map[string]string{"0001_a.sql": "SELECT 1", "0001_b.sql": "SELECT 1"}),
	} {
		if _, err := pg.LoadMigrations(fs); err == nil {
			t.Errorf("%s migrations accepted", name)
		}
	}
}

// TestMigrateSources: a platform source keeps its own version numbers
// beside the service's, and a schema migrated before sources existed
// (schema_migrations keyed by version alone) upgrades without applying
// anything twice.
func TestMigrateSources(t *testing.T) {
	ctx := context.Background()
	pool, err := pg.Connect(ctx, testdb.New(t), "app")
	if err != nil {
		t.Fatal(err)
	}
	defer pool.Close()
	// The shape and content of a schema migrated by the previous migrator.
	if _, err := pool.Exec(ctx, `CREATE SCHEMA app;
		CREATE TABLE app.schema_migrations (version integer PRIMARY KEY, name text NOT NULL,
			checksum text NOT NULL, applied_at timestamptz NOT NULL DEFAULT now());`); err != nil {
		t.Fatal(err)
	}
	own := migrations(map[string]string{"0001_things.sql": `CREATE TABLE things (id int PRIMARY KEY);`})
	if err := pg.Migrate(ctx, pool, "app", pg.Source{FS: own}); err != nil {
		t.Fatal(err)
	}
	if _, err := pool.Exec(ctx, `ALTER TABLE app.schema_migrations DROP COLUMN source;
		ALTER TABLE app.schema_migrations ADD PRIMARY KEY (version)`); err != nil {
		t.Fatal(err)
	}

	platform := pg.Source{Name: "platform", FS: migrations(map[string]string{
		"0001_log.sql": `CREATE TABLE log (line text)`,
	})}
	all := pg.Migrations{Schema: "app", Sources: []pg.Source{{FS: own}, platform}}
	for range 2 {
		if err := all.Apply(ctx, pool); err != nil {
			t.Fatal(err)
		}
	}
	rows, err := pool.Query(ctx, `SELECT source || ':' || name FROM app.schema_migrations ORDER BY source, version`)
	if err != nil {
		t.Fatal(err)
	}
	got, err := pgx.CollectRows(rows, pgx.RowTo[string])
	if err != nil {
		t.Fatal(err)
	}
	if want := []string{":0001_things.sql", "platform:0001_log.sql"}; !slices.Equal(got, want) {
		t.Fatalf("applied %v, want %v", got, want)
	}
}

// A schema two services share is migrated by whichever comes first, before
// its own, and is a no-op for the second.
func TestMigrateShared(t *testing.T) {
	ctx := context.Background()
	pool, err := pg.Connect(ctx, testdb.New(t), "one")
	if err != nil {
		t.Fatal(err)
	}
	defer pool.Close()
	shared := pg.Migrations{Schema: "trail", Sources: []pg.Source{{Name: "trail", FS: migrations(map[string]string{
		"0001_entries.sql": `CREATE TABLE entries (line text)`,
	})}}}
	// Each service's own migration writes to the shared table, so it must
	// exist first.
	service := func(schema string) pg.Migrations {
		return pg.Migrations{Schema: schema, Shared: []pg.Migrations{shared}, Sources: []pg.Source{{FS: migrations(map[string]string{
			"0001_own.sql": `CREATE TABLE own (id int); INSERT INTO trail.entries VALUES ('` + schema + `')`,
		})}}}
	}
	for _, m := range []pg.Migrations{service("one"), service("two"), service("one")} {
		if err := m.Apply(ctx, pool); err != nil {
			t.Fatal(err)
		}
	}
	rows, err := pool.Query(ctx, `SELECT line FROM trail.entries ORDER BY line`)
	if err != nil {
		t.Fatal(err)
	}
	got, err := pgx.CollectRows(rows, pgx.RowTo[string])
	if err != nil {
		t.Fatal(err)
	}
	if want := []string{"one", "two"}; !slices.Equal(got, want) {
		t.Fatalf("entries %v, want %v", got, want)
	}
	var names []string
	for _, m := range pg.Schemas(service("one"), service("two")) {
		names = append(names, m.Schema)
	}
	if want := []string{"trail", "one", "two"}; !slices.Equal(names, want) {
		t.Errorf("Schemas = %v, want %v", names, want)
	}
}

func TestInTxRetriesSerializationFailures(t *testing.T) {
	ctx := context.Background()
	pool, err := pg.Connect(ctx, testdb.New(t), "app")
	if err != nil {
		t.Fatal(err)
	}
	defer pool.Close()
	if _, err := pool.Exec(ctx, `CREATE SCHEMA app; CREATE TABLE app.counter (n int); INSERT INTO app.counter VALUES (0)`); err != nil {
		t.Fatal(err)
	}
	attempts := 0
	err = pg.InTx(ctx, pool, pgx.Serializable, func(tx pgx.Tx) error {
		attempts++
		if _, err := tx.Exec(ctx, `UPDATE counter SET n = n + 1`); err != nil {
			return err
		}
		if attempts == 1 {
			return &pgconn.PgError{Code: "40001", Message: "could not serialize access"}
		}
		return nil
	})
	var n int
	if qerr := pool.QueryRow(ctx, `SELECT n FROM counter`).Scan(&n); err != nil || qerr != nil || attempts != 2 || n != 1 {
		t.Fatalf("err %v, %d attempts, counter %d (%v); want one retry and one increment", err, attempts, n, qerr)
	}
	// Domain errors pass through untouched, database errors are classified.
	domain := errs.NotFound("things/1")
	if err := pg.InTx(ctx, pool, pgx.ReadCommitted, func(pgx.Tx) error { return domain }); !errors.Is(err, domain) {
		t.Fatalf("domain error became %v", err)
	}
	err = pg.InTx(ctx, pool, pgx.ReadCommitted, func(tx pgx.Tx) error {
		_, err := tx.Exec(ctx, `CREATE TABLE u (id int PRIMARY KEY); INSERT INTO u VALUES (1), (1)`)
		return err
	})
	if !errs.Is(err, errs.KindAlreadyExists) {
		t.Fatalf("unique violation classified as %v", err)
	}
	cctx, cancel := context.WithCancel(ctx)
	cancel()
	if err := pg.InTx(cctx, pool, pgx.ReadCommitted, func(pgx.Tx) error { return nil }); !errs.Is(err, errs.KindCanceled) {
		t.Fatalf("canceled context classified as %v", err)
	}
}

// TestStatementTimeout: a statement running past the pool's timeout is
// cancelled by PostgreSQL and reported as DEADLINE_EXCEEDED.
func TestStatementTimeout(t *testing.T) {
	ctx := context.Background()
	pool, err := pg.Connect(ctx, testdb.New(t), "app", pg.WithStatementTimeout(100*time.Millisecond))
	if err != nil {
		t.Fatal(err)
	}
	defer pool.Close()
	_, err = pool.Exec(ctx, `SELECT pg_sleep(2)`)
	if err = pg.Classify(err); !errs.Is(err, errs.KindDeadlineExceeded) {
		t.Fatalf("slow statement: %v, want DEADLINE_EXCEEDED", err)
	}
}
