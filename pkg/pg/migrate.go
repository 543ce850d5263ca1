package pg

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io/fs"
	"regexp"
	"sort"
	"strconv"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
)

// migrationLock is the advisory lock key all Kehu migrations share. One key
// for every service serialises them cluster-wide, which also keeps two
// services from racing on shared objects such as extensions.
const migrationLock int64 = 0x6b656875 // "kehu"

var migrationName = regexp.MustCompile(`^(\d{4,})_[a-z0-9_]+\.sql$`)

// Migration is one versioned SQL file.
type Migration struct {
	Version int
	Name    string
	SQL     string
}

// LoadMigrations reads NNNN_name.sql files from fsys in version order.
// Any other .sql name is an error, so a misnamed file is never skipped.
func LoadMigrations(fsys fs.FS) ([]Migration, error) {
	entries, err := fs.ReadDir(fsys, ".")
	if err != nil {
		return nil, err
	}
	var out []Migration
	seen := map[int]string{}
	for _, e := range entries {
		if e.IsDir() {
			continue
		}
		m := migrationName.FindStringSubmatch(e.Name())
		if m == nil {
			if len(e.Name()) > 4 && e.Name()[len(e.Name())-4:] == ".sql" {
				return nil, fmt.Errorf("migration %s: name must be NNNN_description.sql", e.Name())
			}
			continue
		}
		v, _ := strconv.Atoi(m[1])
		if prev, dup := seen[v]; dup {
			return nil, fmt.Errorf("migrations %s and %s share version %d", prev, e.Name(), v)
		}
		seen[v] = e.Name()
		body, err := fs.ReadFile(fsys, e.Name())
		if err != nil {
			return nil, err
		}
		out = append(out, Migration{Version: v, Name: e.Name(), SQL: string(body)})
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Version < out[j].Version })
	return out, nil
}

// Source is one set of migrations applied to a schema. A service's own
// migrations are the source named ""; a platform package that owns tables
// (the outbox, idempotency keys) ships its own source, so its DDL lives
// beside its queries instead of in every service's files. Each source keeps
// its own version numbers.
type Source struct {
	Name string
	FS   fs.FS
}

// Migrations are everything migrated into one schema: a service's own
// source first, then the platform sources it uses.
type Migrations struct {
	Schema  string
	Sources []Source
	// Shared are schemas every service writes into rather than owns (the
	// audit trail): each service's migrations name them so that whichever
	// migrates first creates them, before its own schema. They keep their
	// own schema_migrations, so migrating them again is a no-op.
	Shared []Migrations
}

// Apply migrates the shared schemas, then m.Schema, through pool (see
// Migrate).
func (m Migrations) Apply(ctx context.Context, pool *pgxpool.Pool) error {
	for _, sh := range m.Shared {
		if err := sh.Apply(ctx, pool); err != nil {
			return err
		}
	}
	return Migrate(ctx, pool, m.Schema, m.Sources...)
}

// Schemas lists the schemas of ms and of the schemas they share, each
// once, shared ones before the schemas naming them: what a database
// holding ms consists of (a test template, a backup).
func Schemas(ms ...Migrations) []Migrations {
	var out []Migrations
	seen := map[string]bool{}
	var add func(m Migrations)
	add = func(m Migrations) {
		for _, sh := range m.Shared {
			add(sh)
		}
		if !seen[m.Schema] {
			seen[m.Schema] = true
			out = append(out, Migrations{Schema: m.Schema, Sources: m.Sources})
		}
	}
	for _, m := range ms {
		add(m)
	}
	return out
}

// Sub is fs.Sub for a directory that is known to exist (an embedded one).
func Sub(fsys fs.FS, dir string) fs.FS {
	sub, err := fs.Sub(fsys, dir)
	if err != nil {
		panic(fmt.Sprintf("pg: migrations directory %s: %v", dir, err))
	}
	return sub
}

// Migrate applies the migrations of each source, in the order given, that
// schema has not seen yet, each in its own transaction, while holding the
// cluster-wide migration lock so that replicas starting together apply each
// migration exactly once. An applied migration whose file later changed is
// an error: history is not rewritten silently.
func Migrate(ctx context.Context, pool *pgxpool.Pool, schema string, sources ...Source) error {
	type pending struct {
		source string
		Migration
	}
	var all []pending
	for _, src := range sources {
		ms, err := LoadMigrations(src.FS)
		if err != nil {
			return fmt.Errorf("migrations %q: %w", src.Name, err)
		}
		for _, m := range ms {
			all = append(all, pending{src.Name, m})
		}
	}
	conn, err := pool.Acquire(ctx)
	if err != nil {
		return err
	}
	defer conn.Release()
	if _, err := conn.Exec(ctx, `SELECT pg_advisory_lock($1)`, migrationLock); err != nil {
		return fmt.Errorf("taking the migration lock: %w", err)
	}
	defer func() {
		_, _ = conn.Exec(context.WithoutCancel(ctx), `SELECT pg_advisory_unlock($1)`, migrationLock)
	}()

	s := pgx.Identifier{schema}.Sanitize()
	if _, err := conn.Exec(ctx, `CREATE SCHEMA IF NOT EXISTS `+s+`;
		CREATE TABLE IF NOT EXISTS `+s+`.schema_migrations (
			source     text NOT NULL DEFAULT '',
			version    integer NOT NULL,
			name       text NOT NULL,
			checksum   text NOT NULL,
			applied_at timestamptz NOT NULL DEFAULT now(),
			PRIMARY KEY (source, version)
		)`); err != nil {
		return fmt.Errorf("preparing schema %s: %w", schema, err)
	}
	if err := upgradeMigrationTable(ctx, conn.Conn(), schema); err != nil {
		return fmt.Errorf("preparing schema %s: %w", schema, err)
	}
	type key struct {
		source  string
		version int
	}
	applied := map[key]string{}
	rows, err := conn.Query(ctx, `SELECT source, version, checksum FROM `+s+`.schema_migrations`)
	if err != nil {
		return err
	}
	for rows.Next() {
		var k key
		var sum string
		if err := rows.Scan(&k.source, &k.version, &sum); err != nil {
			return err
		}
		applied[k] = sum
	}
	if err := rows.Err(); err != nil {
		return err
	}
	for _, m := range all {
		sum := checksum(m.SQL)
		if prev, ok := applied[key{m.source, m.Version}]; ok {
			if prev != sum {
				return fmt.Errorf("migration %s was changed after it was applied to schema %s", m.label(m.source), schema)
			}
			continue
		}
		err := pgx.BeginFunc(ctx, conn, func(tx pgx.Tx) error {
			if _, err := tx.Exec(ctx, `SET LOCAL search_path TO `+s+`, public`); err != nil {
				return err
			}
			if _, err := tx.Exec(ctx, m.SQL); err != nil {
				return err
			}
			_, err := tx.Exec(ctx, `INSERT INTO `+s+`.schema_migrations (source, version, name, checksum) VALUES ($1, $2, $3, $4)`,
				m.source, m.Version, m.Name, sum)
			return err
		})
		if err != nil {
			return fmt.Errorf("applying migration %s to schema %s: %w", m.label(m.source), schema, err)
		}
	}
	return nil
}

// label names a migration in errors: "0001_outbox.sql of outbox".
func (m Migration) label(source string) string {
	if source == "" {
		return m.Name
	}
	return m.Name + " of " + source
}

// upgradeMigrationTable brings a schema_migrations table from before
// sources existed (keyed by version alone) to the (source, version) key;
// its rows are the service's own migrations, source "". It runs under the
// migration lock, so two replicas never upgrade at once.
func upgradeMigrationTable(ctx context.Context, conn *pgx.Conn, schema string) error {
	var upgraded bool
	if err := conn.QueryRow(ctx, `SELECT EXISTS (SELECT 1 FROM information_schema.columns
		WHERE table_schema = $1 AND table_name = 'schema_migrations' AND column_name = 'source')`, schema).Scan(&upgraded); err != nil {
		return err
	}
	if upgraded {
		return nil
	}
	table := pgx.Identifier{schema, "schema_migrations"}.Sanitize()
	_, err := conn.Exec(ctx, `ALTER TABLE `+table+` ADD COLUMN source text NOT NULL DEFAULT '';
		ALTER TABLE `+table+` DROP CONSTRAINT schema_migrations_pkey;
		ALTER TABLE `+table+` ADD PRIMARY KEY (source, version)`)
	return err
}

func checksum(sql string) string {
	h := sha256.Sum256([]byte(sql))
	return hex.EncodeToString(h[:])
}
