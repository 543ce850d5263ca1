// Package leader runs background work on exactly one replica at a time,
// using a PostgreSQL session advisory lock as the lease: the replica whose
// connection holds the lock works; the others wait and take over within a
// retry interval when it stops or its connection dies. It needs no extra
// infrastructure and fails safe: work that must never run twice is still
// guarded by the database (unique keys, SKIP LOCKED), so a brief overlap
// during a network partition costs duplicate effort, not duplicate effects.
package leader

import (
	"context"
	"log/slog"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"
)

// Options tune Run.
type Options struct {
	// Retry is how often a follower tries to take the lock; default 5s.
	Retry time.Duration
	// Check is how often the leader verifies its lock connection; default 5s.
	Check time.Duration
}

// Run calls work whenever this process holds the lock named name, until ctx
// is done. work must return when its context is cancelled (lock lost).
func Run(ctx context.Context, pool *pgxpool.Pool, name string, logger *slog.Logger, work func(context.Context), opts Options) {
	if opts.Retry <= 0 {
		opts.Retry = 5 * time.Second
	}
	if opts.Check <= 0 {
		opts.Check = 5 * time.Second
	}
	for ctx.Err() == nil {
		held, err := lead(ctx, pool, name, logger, work, opts)
		if err != nil && ctx.Err() == nil {
			logger.Warn("leader election failed", "lock", name, "error", err)
		}
		if held {
			continue // we lost it; try again at once
		}
		select {
		case <-ctx.Done():
		case <-time.After(opts.Retry):
		}
	}
}

// lead tries the lock once and, if it gets it, runs work while holding it.
func lead(ctx context.Context, pool *pgxpool.Pool, name string, logger *slog.Logger, work func(context.Context), opts Options) (bool, error) {
	conn, err := pool.Acquire(ctx)
	if err != nil {
		return false, err
	}
	// The lock belongs to this session: never give the connection back to
	// the pool while it may hold it.
	raw := conn.Hijack()
	defer raw.Close(context.WithoutCancel(ctx))
	var got bool
	if err := raw.QueryRow(ctx, `SELECT pg_try_advisory_lock(hashtext($1))`, name).Scan(&got); err != nil || !got {
		return false, err
	}
	logger.Info("became leader", "lock", name)
	workCtx, stop := context.WithCancel(ctx)
	done := make(chan struct{})
	go func() {
		defer close(done)
		work(workCtx)
	}()
	ticker := time.NewTicker(opts.Check)
	defer ticker.Stop()
	for {
		select {
		case <-done:
			stop()
			_, _ = raw.Exec(context.WithoutCancel(ctx), `SELECT pg_advisory_unlock(hashtext($1))`, name)
			return true, nil
		case <-ctx.Done():
			stop()
			<-done
			return true, nil
		case <-ticker.C:
			if err := raw.Ping(ctx); err != nil && ctx.Err() == nil {
				// The session (and with it the lock) is gone: another
				// replica may lead now, so stop working.
				logger.Warn("lost leadership", "lock", name, "error", err)
				stop()
				<-done
				return true, err
			}
		}
	}
}
