package backup

import (
	"context"
	"fmt"
	"strings"

	"github.com/jackc/pgx/v5"
)

// requireSchemas fails when a schema to back up does not exist: a backup
// silently missing a service is worse than none.
func requireSchemas(ctx context.Context, conn *pgx.Conn, schemas []string) error {
	rows, err := conn.Query(ctx, `SELECT s FROM unnest($1::text[]) s WHERE to_regnamespace(quote_ident(s)) IS NULL`, schemas)
	missing, err := pgx.CollectRows(rows, pgx.RowTo[string])
	if err != nil {
		return fmt.Errorf("reading the schemas: %w", err)
	}
	if len(missing) > 0 {
		return fmt.Errorf("no schema %s in the database (run the migrations first)", strings.Join(missing, ", "))
	}
	return nil
}

// usedExtensions lists the extensions that objects of schemas depend on
// (pg_trgm's operator classes under the customer search index): pg_dump
// leaves extensions out when it dumps chosen schemas, yet a restore into a
// fresh database needs them.
func usedExtensions(ctx context.Context, conn *pgx.Conn, schemas []string) ([]string, error) {
	rows, err := conn.Query(ctx, `
		SELECT DISTINCT e.extname
		FROM pg_class c
		JOIN pg_depend uses ON uses.classid = 'pg_class'::regclass AND uses.objid = c.oid
		JOIN pg_depend member ON member.classid = uses.refclassid AND member.objid = uses.refobjid AND member.deptype = 'e'
		JOIN pg_extension e ON e.oid = member.refobjid
		WHERE c.relnamespace IN (SELECT to_regnamespace(quote_ident(s)) FROM unnest($1::text[]) s)
		ORDER BY 1`, schemas)
	names, err := pgx.CollectRows(rows, pgx.RowTo[string])
	if err != nil {
		return nil, fmt.Errorf("reading the extensions in use: %w", err)
	}
	return names, nil
}

// requireIdle refuses while Kehu's services are connected (their pools
// name themselves kehu-<schema>).
func requireIdle(ctx context.Context, conn *pgx.Conn) error {
	var names []string
	err := conn.QueryRow(ctx, `
		SELECT coalesce(array_agg(DISTINCT application_name ORDER BY application_name), '{}')
		FROM pg_stat_activity
		WHERE datname = current_database() AND pid <> pg_backend_pid() AND application_name LIKE 'kehu-%'`).Scan(&names)
	if err != nil {
		return fmt.Errorf("reading the database's sessions: %w", err)
	}
	if len(names) > 0 {
		return fmt.Errorf("%w (%s)", ErrInUse, strings.Join(names, ", "))
	}
	return nil
}

// schemasWithTables lists which of schemas hold at least one table.
func schemasWithTables(ctx context.Context, conn *pgx.Conn, schemas []string) ([]string, error) {
	rows, err := conn.Query(ctx, `
		SELECT DISTINCT table_schema FROM information_schema.tables
		WHERE table_schema = ANY ($1) ORDER BY 1`, schemas)
	names, err := pgx.CollectRows(rows, pgx.RowTo[string])
	if err != nil {
		return nil, fmt.Errorf("reading the schemas: %w", err)
	}
	return names, nil
}

// Stream is where a restored schema's events stand: the last event in its
// outbox, and the last event it applied of each stream it follows.
type Stream struct {
	Schema  string
	Head    int64
	Cursors map[string]int64
}

// streams reads the event positions of schemas.
func streams(ctx context.Context, conn *pgx.Conn, schemas []string) ([]Stream, error) {
	out := make([]Stream, 0, len(schemas))
	for _, s := range schemas {
		st := Stream{Schema: s, Cursors: map[string]int64{}}
		id := pgx.Identifier{s}.Sanitize()
		err := conn.QueryRow(ctx, `SELECT greatest((SELECT coalesce(max(sequence), 0) FROM `+id+`.outbox),
			(SELECT coalesce(max(pruned_through), 0) FROM `+id+`.outbox_retention))`).Scan(&st.Head)
		if err != nil {
			return nil, fmt.Errorf("reading %s's outbox: %w", s, err)
		}
		var follows bool
		if err := conn.QueryRow(ctx, `SELECT to_regclass($1) IS NOT NULL`, id+".consumer_cursors").Scan(&follows); err != nil || !follows {
			out = append(out, st)
			continue
		}
		rows, err := conn.Query(ctx, `SELECT stream, sequence FROM `+id+`.consumer_cursors`)
		if err != nil {
			return nil, fmt.Errorf("reading %s's cursors: %w", s, err)
		}
		var (
			stream string
			seq    int64
		)
		if _, err := pgx.ForEachRow(rows, []any{&stream, &seq}, func() error { st.Cursors[stream] = seq; return nil }); err != nil {
			return nil, fmt.Errorf("reading %s's cursors: %w", s, err)
		}
		out = append(out, st)
	}
	return out, nil
}
