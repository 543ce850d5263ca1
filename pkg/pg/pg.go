// Package pg holds what every Kehu store needs from PostgreSQL: a pool whose
// connections live in the service's own schema, a transaction helper that
// retries serialization failures, migrations applied under an advisory lock,
// and the translation of database errors into Kehu's error vocabulary.
package pg

import (
	"context"
	"errors"
	"fmt"
	"net"
	"strconv"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/kehu-crm/kehu/pkg/errs"
)

// ConnectTimeout bounds the start-up ping: a service that cannot reach its
// database should fail fast and let the orchestrator restart it.
const ConnectTimeout = 10 * time.Second

// Option tunes the sessions of a pool.
type Option func(*pgxpool.Config)

// WithStatementTimeout makes PostgreSQL cancel any statement running longer
// than d, so one expensive request cannot hold a connection (and its
// locks) indefinitely; the caller gets DEADLINE_EXCEEDED.
func WithStatementTimeout(d time.Duration) Option {
	return func(cfg *pgxpool.Config) {
		if d > 0 {
			cfg.ConnConfig.RuntimeParams["statement_timeout"] = strconv.FormatInt(d.Milliseconds(), 10)
		}
	}
}

// Connect opens a pool whose sessions resolve unqualified names in schema
// first (then public, where shared extensions such as pg_trgm live), and
// pings it once.
func Connect(ctx context.Context, url, schema string, opts ...Option) (*pgxpool.Pool, error) {
	if url == "" {
		return nil, errors.New("no database URL (set KEHU_DATABASE_URL)")
	}
	cfg, err := pgxpool.ParseConfig(url)
	if err != nil {
		return nil, fmt.Errorf("parsing database URL: %w", err)
	}
	if schema != "" {
		cfg.ConnConfig.RuntimeParams["search_path"] = pgx.Identifier{schema}.Sanitize() + ",public"
	}
	cfg.ConnConfig.RuntimeParams["application_name"] = "kehu-" + schema
	cfg.MaxConnIdleTime = 5 * time.Minute
	cfg.HealthCheckPeriod = 30 * time.Second
	for _, opt := range opts {
		opt(cfg)
	}
	pool, err := pgxpool.NewWithConfig(ctx, cfg)
	if err != nil {
		return nil, err
	}
	pingCtx, cancel := context.WithTimeout(ctx, ConnectTimeout)
	defer cancel()
	if err := pool.Ping(pingCtx); err != nil {
		pool.Close()
		return nil, fmt.Errorf("pinging %s@%s/%s: %w", cfg.ConnConfig.User, cfg.ConnConfig.Host, cfg.ConnConfig.Database, err)
	}
	return pool, nil
}

// maxAttempts bounds retries of a transaction that lost a serialization
// race; beyond it the conflict is reported as ABORTED and the client retries.
const maxAttempts = 5

// InTx runs fn in a transaction at isolation level iso and commits it. On a
// serialization failure or deadlock the whole function is run again, so fn
// must not have side effects outside the transaction.
func InTx(ctx context.Context, pool *pgxpool.Pool, iso pgx.TxIsoLevel, fn func(pgx.Tx) error) error {
	var err error
	for attempt := 1; attempt <= maxAttempts; attempt++ {
		err = pgx.BeginTxFunc(ctx, pool, pgx.TxOptions{IsoLevel: iso}, fn)
		if !retryable(err) {
			break
		}
		select {
		case <-ctx.Done():
			return Classify(ctx.Err())
		case <-time.After(time.Duration(attempt*attempt) * 5 * time.Millisecond):
		}
	}
	return Classify(err)
}

func retryable(err error) bool {
	var pgErr *pgconn.PgError
	return errors.As(err, &pgErr) && (pgErr.Code == "40001" || pgErr.Code == "40P01")
}

// ConstraintName returns the constraint a failed statement violated, or "".
func ConstraintName(err error) string {
	var pgErr *pgconn.PgError
	if errors.As(err, &pgErr) {
		return pgErr.ConstraintName
	}
	return ""
}

// Classify turns a database error into a Kehu error. Errors that already
// are Kehu errors (returned by domain code inside a transaction) pass
// through; unexpected database errors become INTERNAL without leaking SQL
// to the caller (the cause is kept for the log).
func Classify(err error) error {
	if err == nil {
		return nil
	}
	if _, ok := errs.As(err); ok {
		return err
	}
	switch {
	case errors.Is(err, context.Canceled):
		return errs.Canceled("request canceled").WithCause(err)
	case errors.Is(err, context.DeadlineExceeded):
		return errs.DeadlineExceeded("DEADLINE_EXCEEDED", "deadline exceeded while talking to the database").WithCause(err)
	}
	var pgErr *pgconn.PgError
	if errors.As(err, &pgErr) {
		switch {
		case pgErr.Code == "40001" || pgErr.Code == "40P01":
			return errs.Aborted("CONCURRENT_MODIFICATION", "the change conflicted with a concurrent one; retry").WithCause(err)
		case pgErr.Code == "23505":
			return errs.AlreadyExists("ALREADY_EXISTS", "the resource already exists").WithCause(err)
		case pgErr.Code == "23503":
			return errs.FailedPrecondition("REFERENCE_MISSING", "a referenced resource does not exist").WithCause(err)
		case pgErr.Code == "57P01" || pgErr.Code == "57P03" || pgErr.Code[:2] == "08":
			return errs.Unavailable("DATABASE_UNAVAILABLE", "the database is unavailable").WithCause(err)
		case pgErr.Code == "57014":
			return errs.DeadlineExceeded("QUERY_CANCELED", "the query took too long").WithCause(err)
		}
		return errs.Internal(err)
	}
	var netErr net.Error
	if errors.As(err, &netErr) || pgconn.SafeToRetry(err) {
		return errs.Unavailable("DATABASE_UNAVAILABLE", "the database is unavailable").WithCause(err)
	}
	return errs.Internal(err)
}
