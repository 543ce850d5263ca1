package audit

import (
	"context"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/kehu-crm/kehu/pkg/filter"
	"github.com/kehu-crm/kehu/pkg/pg"
)

var columns = []string{"time", "service", "method", "kind", "actor", "roles", "resource", "fields",
	"result", "request_id", "client_request_id", "client_address", "peer", "call_count", "first_call_time"}

// Insert appends entries to the trail in one COPY. The table is named
// with its schema, so any service's pool (whose search_path is its own
// schema) writes it.
func Insert(ctx context.Context, pool *pgxpool.Pool, entries []Entry) error {
	_, err := pool.CopyFrom(ctx, pgx.Identifier{Schema, "entries"}, columns, pgx.CopyFromSlice(len(entries), func(i int) ([]any, error) {
		e := entries[i]
		return []any{e.Time, e.Service, e.Method, string(e.Kind), e.Actor, pg.NonNil(e.Roles), e.Resource, pg.NonNil(e.Fields),
			e.Result, e.RequestID, e.ClientRequestID, e.ClientAddress, e.Peer, max(e.Calls, 1), firstCallTime(e)}, nil
	}))
	if err != nil {
		return fmt.Errorf("inserting audit entries: %w", err)
	}
	return nil
}

// firstCallTime is NULL for an entry of one call.
func firstCallTime(e Entry) *time.Time {
	if e.Calls <= 1 || e.FirstCallTime.IsZero() {
		return nil
	}
	return &e.FirstCallTime
}

// MinRetention is the shortest retention audit.prune accepts.
const MinRetention = 24 * time.Hour

// Prune deletes the entries older than cutoff through audit.prune, the
// only deletion the table's trigger lets through, and says how many.
func Prune(ctx context.Context, pool *pgxpool.Pool, cutoff time.Time) (int64, error) {
	var n int64
	if err := pool.QueryRow(ctx, `SELECT audit.prune($1)`, cutoff).Scan(&n); err != nil {
		return 0, fmt.Errorf("pruning audit entries: %w", err)
	}
	return n, nil
}

// cursor is where a page of entries, newest first, resumes.
type cursor struct {
	Time time.Time `json:"t"`
	ID   int64     `json:"i"`
}

// list returns up to limit entries matching where, newest first.
func list(ctx context.Context, pool *pgxpool.Pool, w *filter.Where, limit int) ([]Entry, error) {
	rows, err := pool.Query(ctx, `SELECT id, time, service, method, kind, actor, roles, resource, fields,
			result, request_id, client_request_id, client_address, peer, call_count, first_call_time
		FROM audit.entries WHERE `+w.SQL()+fmt.Sprintf(` ORDER BY time DESC, id DESC LIMIT %d`, limit), w.Args()...)
	return pg.Collect(rows, err, func(row pgx.Row) (Entry, error) {
		var e Entry
		var kind string
		var first *time.Time
		err := row.Scan(&e.ID, &e.Time, &e.Service, &e.Method, &kind, &e.Actor, &e.Roles, &e.Resource, &e.Fields,
			&e.Result, &e.RequestID, &e.ClientRequestID, &e.ClientAddress, &e.Peer, &e.Calls, &first)
		e.Kind = Kind(kind)
		if first != nil {
			e.FirstCallTime = *first
		}
		return e, err
	})
}
