package backup_test

import (
	"bytes"
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"testing/fstest"

	"github.com/jackc/pgx/v5"

	"github.com/kehu-crm/kehu/pkg/backup"
	"github.com/kehu-crm/kehu/pkg/follow/cursor"
	"github.com/kehu-crm/kehu/pkg/outbox"
	"github.com/kehu-crm/kehu/pkg/pg"
	"github.com/kehu-crm/kehu/pkg/testdb"
)

// Two schemas as two services would have them: "source" publishes events,
// "sink" follows them; the sink's notes use pg_trgm as the customer
// search does, so a restore into a database without the extension needs it
// from the archive.
var (
	source = pg.Migrations{Schema: "source", Sources: []pg.Source{{FS: fstest.MapFS{"0001_notes.sql": {Data: []byte(`
		CREATE TABLE notes (id int PRIMARY KEY, body text NOT NULL);`)}}}, outbox.Migrations}}
	sink = pg.Migrations{Schema: "sink", Sources: []pg.Source{{FS: fstest.MapFS{"0001_copies.sql": {Data: []byte(`
		CREATE EXTENSION IF NOT EXISTS pg_trgm WITH SCHEMA public;
		CREATE TABLE copies (id int PRIMARY KEY, body text NOT NULL);
		CREATE INDEX copies_body_idx ON copies USING gin (body public.gin_trgm_ops);`)}}}, outbox.Migrations, cursor.Migrations}}
	schemas = []string{"source", "sink"}
)

func connect(t *testing.T, url string) *pgx.Conn {
	t.Helper()
	conn, err := pgx.Connect(context.Background(), url)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close(context.Background()) })
	return conn
}

func exec(t *testing.T, conn *pgx.Conn, sql string) {
	t.Helper()
	if _, err := conn.Exec(context.Background(), sql); err != nil {
		t.Fatalf("%s: %v", sql, err)
	}
}

// archive writes b to a file of the test's.
func archive(t *testing.T, b []byte) string {
	t.Helper()
	f := filepath.Join(t.TempDir(), "kehu.dump")
	if err := os.WriteFile(f, b, 0o600); err != nil {
		t.Fatal(err)
	}
	return f
}

func count(t *testing.T, conn *pgx.Conn, table string) int {
	t.Helper()
	var n int
	if err := conn.QueryRow(context.Background(), `SELECT count(*) FROM `+table).Scan(&n); err != nil {
		t.Fatal(err)
	}
	return n
}

// populated is a database with three notes, their events, and a sink
// that has applied two of them.
func populated(t *testing.T) (string, *pgx.Conn) {
	url := testdb.New(t, source, sink)
	conn := connect(t, url)
	exec(t, conn, `INSERT INTO source.notes VALUES (1, '客户'), (2, 'b'), (3, 'c')`)
	exec(t, conn, `INSERT INTO source.outbox (id, type, subject) SELECT gen_random_uuid(), 'note.created', 'notes/' || n FROM generate_series(1, 3) n`)
	exec(t, conn, `INSERT INTO sink.copies VALUES (1, '客户'), (2, 'b')`)
	exec(t, conn, `INSERT INTO sink.consumer_cursors (stream, sequence) VALUES ('source', 2)`)
	return url, conn
}

func TestDumpAndRestoreIntoAnEmptyDatabase(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	url, _ := populated(t)
	var dump bytes.Buffer
	if err := backup.Dump(ctx, url+"&pool_max_conns=2", schemas, &dump); err != nil {
		t.Fatal(err)
	}

	// A database with nothing in it, not even the extension.
	empty := testdb.New(t)
	conn := connect(t, empty)
	exec(t, conn, `DROP EXTENSION IF EXISTS pg_trgm`)
	streams, err := backup.Restore(ctx, empty, schemas, archive(t, dump.Bytes()), backup.RestoreOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if n := count(t, conn, `source.notes`); n != 3 {
		t.Errorf("notes restored: %d, want 3", n)
	}
	var found int
	if err := conn.QueryRow(ctx, `SELECT id FROM sink.copies WHERE body LIKE '%客%'`).Scan(&found); err != nil || found != 1 {
		t.Errorf("search on the restored copies: %d, %v", found, err)
	}
	want := []backup.Stream{{Schema: "source", Head: 3, Cursors: map[string]int64{}}, {Schema: "sink", Head: 0, Cursors: map[string]int64{"source": 2}}}
	if len(streams) != 2 || streams[0].Head != want[0].Head || streams[1].Cursors["source"] != 2 || len(streams[0].Cursors) != 0 {
		t.Errorf("streams: got %+v, want %+v", streams, want)
	}
	// The outbox's sequence goes on after the restored events.
	var next int64
	if err := conn.QueryRow(ctx, `INSERT INTO source.outbox (id, type, subject) VALUES (gen_random_uuid(), 'note.created', 'notes/4') RETURNING sequence`).Scan(&next); err != nil || next != 4 {
		t.Errorf("next event: sequence %d, %v; want 4", next, err)
	}
}

func TestRestoreRefusals(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	url, conn := populated(t)
	var dump bytes.Buffer
	if err := backup.Dump(ctx, url, schemas, &dump); err != nil {
		t.Fatal(err)
	}
	whole := archive(t, dump.Bytes())
	exec(t, conn, `INSERT INTO source.notes VALUES (4, 'after the backup')`)

	if _, err := backup.Restore(ctx, url, schemas, whole, backup.RestoreOptions{}); !errors.Is(err, backup.ErrNotEmpty) {
		t.Errorf("restore over data without Replace: %v, want ErrNotEmpty", err)
	}

	// A service connected to the database (its pool names itself
	// kehu-<schema>) would go on serving what the restore replaces.
	service, err := pg.Connect(ctx, url, "source")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := backup.Restore(ctx, url, schemas, whole, backup.RestoreOptions{Replace: true}); !errors.Is(err, backup.ErrInUse) {
		t.Errorf("restore while a service is connected: %v, want ErrInUse", err)
	}
	service.Close()

	// A broken archive fails the one transaction: the drops are undone.
	broken := archive(t, dump.Bytes()[:dump.Len()*2/3])
	if _, err := backup.Restore(ctx, url, schemas, broken, backup.RestoreOptions{Replace: true}); err == nil {
		t.Error("restore of part of an archive succeeded")
	}
	if n := count(t, conn, `source.notes`); n != 4 {
		t.Errorf("notes after a failed restore: %d, want the 4 from before it", n)
	}
	// An archive without one of the schemas would drop that service's data
	// and restore nothing in its place.
	var partial bytes.Buffer
	if err := backup.Dump(ctx, url, []string{"source"}, &partial); err != nil {
		t.Fatal(err)
	}
	if _, err := backup.Restore(ctx, url, schemas, archive(t, partial.Bytes()), backup.RestoreOptions{Replace: true}); err == nil ||
		!strings.Contains(err.Error(), "no schema sink") {
		t.Errorf("restore of an archive without the sink: %v", err)
	}
	if n := count(t, conn, `sink.copies`); n != 2 {
		t.Errorf("copies after the refused restore: %d, want 2", n)
	}

	if _, err := backup.Restore(ctx, url, schemas, whole, backup.RestoreOptions{Replace: true}); err != nil {
		t.Fatal(err)
	}
	if n := count(t, conn, `source.notes`); n != 3 {
		t.Errorf("notes after the restore: %d, want the backup's 3", n)
	}
}

func TestDumpNeedsEverySchema(t *testing.T) {
	t.Parallel()
	url := testdb.New(t, source)
	if err := backup.Dump(context.Background(), url, []string{"source", "sink"}, &bytes.Buffer{}); err == nil {
		t.Error("backup without the sink schema succeeded")
	}
}
