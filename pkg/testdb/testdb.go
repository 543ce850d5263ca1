// Package testdb gives each test its own PostgreSQL database, cloned from a
// migrated template, so tests run in parallel (across packages too) without
// seeing each other's rows, and repeated runs never collide with a
// developer's database.
//
// The template is named after a hash of the migrations it was built from:
// changing a migration builds a new template; an unchanged one is reused
// across runs, making a fresh database cost one CREATE DATABASE.
package testdb

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"slices"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"

	"github.com/kehu-crm/kehu/pkg/pg"
)

// ServerURL is the PostgreSQL server tests use: KEHU_DATABASE_URL (as set by
// `kehuctl env`), else the local default.
func ServerURL() string {
	if u := os.Getenv("KEHU_DATABASE_URL"); u != "" {
		return u
	}
	return "postgres://postgres@127.0.0.1:5432/postgres?sslmode=disable"
}

// New creates a database holding the migrated schemas, drops it when the
// test ends, and returns its URL.
func New(t testing.TB, schemas ...pg.Migrations) string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	url, err := create(ctx, schemas)
	if err != nil {
		t.Fatalf("testdb: %v", err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		if err := drop(ctx, url); err != nil {
			t.Errorf("testdb: %v", err)
		}
	})
	return url
}

func withDatabase(url, db string) (string, error) {
	cfg, err := pgconn.ParseConfig(url)
	if err != nil {
		return "", fmt.Errorf("parsing %s: %w", url, err)
	}
	user := cfg.User
	if cfg.Password != "" {
		user += ":" + cfg.Password
	}
	return fmt.Sprintf("postgres://%s@%s:%d/%s?sslmode=disable", user, cfg.Host, cfg.Port, db), nil
}

func adminConn(ctx context.Context) (*pgx.Conn, error) {
	url, err := withDatabase(ServerURL(), "postgres")
	if err != nil {
		return nil, err
	}
	return pgx.Connect(ctx, url)
}

func create(ctx context.Context, schemas []pg.Migrations) (string, error) {
	tpl, err := template(ctx, schemas)
	if err != nil {
		return "", err
	}
	conn, err := adminConn(ctx)
	if err != nil {
		return "", err
	}
	defer conn.Close(ctx)
	suffix := make([]byte, 6)
	_, _ = rand.Read(suffix)
	name := "kehu_test_" + hex.EncodeToString(suffix)
	// CREATE DATABASE fails while any session is connected to the template;
	// a concurrent builder may have just left it, so retry briefly.
	for attempt := 0; ; attempt++ {
		_, err = conn.Exec(ctx, "CREATE DATABASE "+name+" TEMPLATE "+tpl)
		if err == nil || attempt == 20 || !strings.Contains(err.Error(), "being accessed by other users") {
			break
		}
		time.Sleep(100 * time.Millisecond)
	}
	if err != nil {
		return "", fmt.Errorf("creating %s from %s: %w", name, tpl, err)
	}
	return withDatabase(ServerURL(), name)
}

// template returns the name of a database holding the migrated schemas,
// building it first if needed. An advisory lock makes parallel test
// binaries wait for one builder instead of racing.
func template(ctx context.Context, schemas []pg.Migrations) (string, error) {
	schemas = pg.Schemas(schemas...)
	h := sha256.New()
	names := make([]string, len(schemas))
	for i, s := range schemas {
		names[i] = s.Schema
		fmt.Fprintf(h, "schema %s\n", s.Schema)
		for _, src := range s.Sources {
			ms, err := pg.LoadMigrations(src.FS)
			if err != nil {
				return "", err
			}
			fmt.Fprintf(h, "source %s\n", src.Name)
			for _, m := range ms {
				fmt.Fprintf(h, "%s\n%s\n", m.Name, m.SQL)
			}
		}
	}
	prefix, name := templateName(names, h.Sum(nil))

	conn, err := adminConn(ctx)
	if err != nil {
		return "", err
	}
	defer conn.Close(ctx)
	if _, err := conn.Exec(ctx, `SELECT pg_advisory_lock(hashtext('kehu-testdb-template'))`); err != nil {
		return "", err
	}
	defer conn.Exec(context.WithoutCancel(ctx), `SELECT pg_advisory_unlock(hashtext('kehu-testdb-template'))`)

	var (
		ready   bool
		comment string
	)
	err = conn.QueryRow(ctx, `
		SELECT datistemplate, coalesce(shobj_description(oid, 'pg_database'), '') FROM pg_database WHERE datname = $1`,
		name).Scan(&ready, &comment)
	switch {
	case err == nil && ready:
		// COMMENT waits for clones in progress: mark at most hourly.
		if used, ok := lastUsed(comment); ok && time.Since(used) < time.Hour {
			return name, nil
		}
		return name, markUsed(ctx, conn, name)
	case err == nil:
		// Half built: its builder crashed (builders hold the lock).
		if _, err := conn.Exec(ctx, "DROP DATABASE IF EXISTS "+name+" WITH (FORCE)"); err != nil {
			return "", err
		}
	case !errors.Is(err, pgx.ErrNoRows):
		return "", err
	}
	if err := dropUnused(ctx, conn, prefix); err != nil {
		return "", err
	}
	if _, err := conn.Exec(ctx, "CREATE DATABASE "+name); err != nil {
		return "", err
	}
	url, err := withDatabase(ServerURL(), name)
	if err != nil {
		return "", err
	}
	for _, s := range schemas {
		pool, err := pg.Connect(ctx, url, s.Schema)
		if err != nil {
			return "", err
		}
		err = s.Apply(ctx, pool)
		pool.Close()
		if err != nil {
			return "", err
		}
	}
	if _, err := conn.Exec(ctx, "ALTER DATABASE "+name+" WITH is_template true"); err != nil {
		return "", err
	}
	return name, markUsed(ctx, conn, name)
}

// unusedFor is how long a template of other migrations is kept. Checkouts
// of different branches share one server; were every other version
// dropped at once, two of them testing at the same time would drop each
// other's template (and the databases being cloned from it) on every run.
const unusedFor = 24 * time.Hour

// usedComment starts the comment recording when a template was last used.
const usedComment = "kehu-testdb last used "

// markUsed records now as the template's last use. COMMENT takes no
// parameters; the text is a formatted time, safe as a literal.
func markUsed(ctx context.Context, conn *pgx.Conn, name string) error {
	_, err := conn.Exec(ctx, "COMMENT ON DATABASE "+name+" IS '"+usedComment+time.Now().UTC().Format(time.RFC3339)+"'")
	return err
}

func lastUsed(comment string) (time.Time, bool) {
	rest, ok := strings.CutPrefix(comment, usedComment)
	if !ok {
		return time.Time{}, false
	}
	t, err := time.Parse(time.RFC3339, rest)
	return t, err == nil
}

// dropUnused drops the templates of other migrations for the same schemas
// that have not been used for unusedFor (or never recorded a use).
func dropUnused(ctx context.Context, conn *pgx.Conn, prefix string) error {
	rows, err := conn.Query(ctx, `
		SELECT datname, coalesce(shobj_description(oid, 'pg_database'), '') FROM pg_database WHERE datname LIKE $1`, prefix+"%")
	if err != nil {
		return err
	}
	type template struct{ name, comment string }
	all, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (template, error) {
		var t template
		return t, r.Scan(&t.name, &t.comment)
	})
	if err != nil {
		return err
	}
	for _, t := range all {
		if used, ok := lastUsed(t.comment); ok && time.Since(used) < unusedFor {
			continue
		}
		if _, err := conn.Exec(ctx, "ALTER DATABASE "+t.name+" WITH is_template false"); err != nil {
			return err
		}
		if _, err := conn.Exec(ctx, "DROP DATABASE IF EXISTS "+t.name+" WITH (FORCE)"); err != nil {
			return err
		}
	}
	return nil
}

func drop(ctx context.Context, url string) error {
	cfg, err := pgconn.ParseConfig(url)
	if err != nil {
		return err
	}
	conn, err := adminConn(ctx)
	if err != nil {
		return err
	}
	defer conn.Close(ctx)
	_, err = conn.Exec(ctx, "DROP DATABASE IF EXISTS "+pgx.Identifier{cfg.Database}.Sanitize()+" WITH (FORCE)")
	return err
}

// maxIdentifier is PostgreSQL's limit on names (NAMEDATALEN - 1): longer
// ones are cut silently, and a template created under a cut name would be
// looked up in vain by its full name, then rebuilt under every test.
const maxIdentifier = 63

// templateName names the template of a set of schemas: a prefix per set
// (so outdated templates of the set are found and dropped) and the hash of
// the migrations, within maxIdentifier.
func templateName(schemas []string, sum []byte) (prefix, name string) {
	sorted := slices.Clone(schemas)
	sort.Strings(sorted)
	const hashLen = 12
	prefix = "kehu_tpl_" + strings.Join(sorted, "_")
	prefix = prefix[:min(len(prefix), maxIdentifier-hashLen-1)] + "_"
	return prefix, prefix + hex.EncodeToString(sum)[:hashLen]
}
