package pg

import (
	"context"
	"errors"
	"strings"

	"github.com/jackc/pgx/v5"

	"github.com/kehu-crm/kehu/pkg/errs"
)

// Querier is what reads need; a pool and a transaction both provide it, so
// one read function serves plain reads and reads that lock inside a
// transaction.
type Querier interface {
	Query(ctx context.Context, sql string, args ...any) (pgx.Rows, error)
	QueryRow(ctx context.Context, sql string, args ...any) pgx.Row
}

// One scans a single row; "no rows" becomes NOT_FOUND of name, so a store
// never lets pgx.ErrNoRows escape to the domain.
func One[T any](row pgx.Row, scan func(pgx.Row) (T, error), name string) (T, error) {
	v, err := scan(row)
	if errors.Is(err, pgx.ErrNoRows) {
		var zero T
		return zero, errs.NotFound(name)
	}
	return v, Classify(err)
}

// Collect scans every row of a query. It takes the query's error as well,
// so a store checks one error per read, not two.
func Collect[T any](rows pgx.Rows, err error, scan func(pgx.Row) (T, error)) ([]T, error) {
	if err != nil {
		return nil, Classify(err)
	}
	defer rows.Close()
	var out []T
	for rows.Next() {
		v, err := scan(rows)
		if err != nil {
			return nil, Classify(err)
		}
		out = append(out, v)
	}
	return out, Classify(rows.Err())
}

// NullIfEmpty maps the empty string to SQL NULL, for optional references
// (uuid and text columns where NULL means "none").
func NullIfEmpty(s string) any {
	if s == "" {
		return nil
	}
	return s
}

// NonNil turns a nil slice into an empty one: NOT NULL array columns store
// '{}', never NULL.
func NonNil[T any](s []T) []T {
	if s == nil {
		return []T{}
	}
	return s
}

// NonNilMap turns a nil map into an empty one, for NOT NULL jsonb columns.
func NonNilMap[K comparable, V any](m map[K]V) map[K]V {
	if m == nil {
		return map[K]V{}
	}
	return m
}

// Decimal drops the zero padding a numeric(p, s) column's text has
// ("12.5000" → "12.5", "3.0000" → "3"), for exact amounts in APIs.
func Decimal(s string) string {
	if !strings.Contains(s, ".") {
		return s
	}
	s = strings.TrimRight(s, "0")
	return strings.TrimSuffix(s, ".")
}
