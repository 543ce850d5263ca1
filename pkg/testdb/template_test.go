package testdb

import (
	"context"
	"testing"
	"testing/fstest"
	"time"

	"github.com/kehu-crm/kehu/pkg/pg"
)

func migrations(sql string) pg.Migrations {
	return pg.Migrations{Schema: "testdb_templates", Sources: []pg.Source{{
		Name: "testdb_templates", FS: fstest.MapFS{"0001_t.sql": {Data: []byte(sql)}},
	}}}
}

// Two checkouts of different branches testing against one server at the
// same time each need their own template: building one must not drop the
// other's (it used to drop every other version at once). A template
// unused for a day is dropped.
func TestTemplatesOfOtherMigrationsSurvive(t *testing.T) {
	ctx := context.Background()
	conn, err := adminConn(ctx)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close(context.Background()) })
	exists := func(name string) bool {
		var n int
		if err := conn.QueryRow(ctx, `SELECT count(*) FROM pg_database WHERE datname = $1`, name).Scan(&n); err != nil {
			t.Fatal(err)
		}
		return n == 1
	}
	suffix := time.Now().Format("150405.000000")
	a, err := template(ctx, []pg.Migrations{migrations("CREATE TABLE a (id int); -- " + suffix)})
	if err != nil {
		t.Fatal(err)
	}
	b, err := template(ctx, []pg.Migrations{migrations("CREATE TABLE b (id int); -- " + suffix)})
	if err != nil {
		t.Fatal(err)
	}
	if a == b || !exists(a) || !exists(b) {
		t.Fatalf("templates %s (exists %v) and %s (exists %v): both should be kept", a, exists(a), b, exists(b))
	}

	old := time.Now().Add(-unusedFor - time.Hour).UTC().Format(time.RFC3339)
	if _, err := conn.Exec(ctx, "COMMENT ON DATABASE "+a+" IS '"+usedComment+old+"'"); err != nil {
		t.Fatal(err)
	}
	c, err := template(ctx, []pg.Migrations{migrations("CREATE TABLE c (id int); -- " + suffix)})
	if err != nil {
		t.Fatal(err)
	}
	if exists(a) || !exists(b) || !exists(c) {
		t.Errorf("after a day unused: %s exists %v (want false), %s %v, %s %v (want true)", a, exists(a), b, exists(b), c, exists(c))
	}
	t.Cleanup(func() {
		for _, db := range []string{b, c} {
			_, _ = conn.Exec(context.Background(), "ALTER DATABASE "+db+" WITH is_template false")
			_, _ = conn.Exec(context.Background(), "DROP DATABASE IF EXISTS "+db+" WITH (FORCE)")
		}
	})
}
