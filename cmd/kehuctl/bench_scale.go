package main

import (
	"context"
	"fmt"
	"math"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
	"google.golang.org/grpc/metadata"

	analyticsv1 "github.com/kehu-crm/kehu/pkg/api/kehu/analytics/v1"
)

// scaleRow is one figure of the at-scale section of the report.
type scaleRow struct {
	name, value string
}

// atScale loads o.scale customers (ten interactions each, a ticket per
// hundred) with `kehuctl seed`'s paths into the running suite, and notes
// the seed's rows per second, how long after the interaction import the
// analytics service had followed it, RecomputeAll's time and each
// dashboard's: the targets are 1,000,000 customers / 10,000,000
// interactions, RecomputeAll ≤ 60 s, each dashboard ≤ 1 s.
func (b *bench) atScale(ctx context.Context, pool *pgxpool.Pool) error {
	n := b.opts.scale
	o := seedOptions{customers: n, interactions: 10 * n, tickets: n / 100, seed: 1, streams: 2, workers: 16,
		customerAddr: "127.0.0.1:9101", interactionAddr: "127.0.0.1:9102", deskAddr: "127.0.0.1:9103"}
	logf("bench: seeding %d customers, %d interactions and %d tickets", o.customers, o.interactions, o.tickets)
	res, err := seed(ctx, o)
	if err != nil {
		return fmt.Errorf("seed: %w", err)
	}
	seeded := time.Now()
	b.scale = append(b.scale,
		scaleRow{"ImportCustomers (seed, 2 streams)", fmt.Sprintf("%.0f rows/s (%s)", res.customersPerSecond, res.customers.Round(time.Second))},
		scaleRow{"ImportInteractions (seed, 2 streams)", fmt.Sprintf("%.0f rows/s (%s)", res.interactionsPerSecond, res.interactions.Round(time.Second))},
		scaleRow{"tickets through the desk's calls (16 callers)", fmt.Sprintf("%.0f tickets/s (%s)", res.ticketsPerSecond, res.tickets.Round(time.Second))},
		scaleRow{"interaction service following the customer import", fmt.Sprintf("%s after the names were read back", res.projection.Round(100*time.Millisecond))},
	)
	for _, stream := range []string{"customer", "interaction", "servicedesk"} {
		if err := catchUp(ctx, pool, stream, 30*time.Minute); err != nil {
			return err
		}
		b.scale = append(b.scale, scaleRow{"analytics following the " + stream + " events", fmt.Sprintf("caught up %s after the seed ended", time.Since(seeded).Round(100*time.Millisecond))})
	}
	if _, err := pool.Exec(ctx, `ANALYZE`); err != nil {
		return err
	}
	analytics, token, closeConn, err := benchAnalytics()
	if err != nil {
		return err
	}
	defer closeConn()
	timed := func(call func(ctx context.Context) error) (time.Duration, error) {
		best := time.Duration(math.MaxInt64)
		// The best of three, or the one run when it takes seconds.
		for run := 0; run < 3 && best > 5*time.Second; run++ {
			callCtx, cancel := context.WithTimeout(metadata.AppendToOutgoingContext(ctx, "authorization", "Bearer "+token), 10*time.Minute)
			start := time.Now()
			err := call(callCtx)
			cancel()
			if err != nil {
				return time.Since(start), err
			}
			best = min(best, time.Since(start))
		}
		return best, nil
	}
	took, err := timed(func(ctx context.Context) error {
		_, err := analytics.RecomputeAll(ctx, &analyticsv1.RecomputeAllRequest{})
		return err
	})
	b.scale = append(b.scale, scaleRow{"RecomputeAll (target ≤ 60 s)", outcome(took, err)})
	for _, d := range []struct {
		name string
		call func(context.Context) error
	}{
		{"journey map", func(ctx context.Context) error {
			_, err := analytics.GetJourneyMap(ctx, &analyticsv1.GetJourneyMapRequest{})
			return err
		}},
		{"lifecycle funnel", func(ctx context.Context) error {
			_, err := analytics.GetLifecycleFunnel(ctx, &analyticsv1.GetLifecycleFunnelRequest{})
			return err
		}},
		{"value distribution", func(ctx context.Context) error {
			_, err := analytics.GetValueDistribution(ctx, &analyticsv1.GetValueDistributionRequest{})
			return err
		}},
		{"RFM grid", func(ctx context.Context) error {
			_, err := analytics.GetRfmGrid(ctx, &analyticsv1.GetRfmGridRequest{})
			return err
		}},
		{"service KPIs", func(ctx context.Context) error {
			_, err := analytics.GetServiceKpis(ctx, &analyticsv1.GetServiceKpisRequest{})
			return err
		}},
		{"cohort retention", func(ctx context.Context) error {
			_, err := analytics.GetCohortRetention(ctx, &analyticsv1.GetCohortRetentionRequest{})
			return err
		}},
		{"care and follow-up", func(ctx context.Context) error {
			_, err := analytics.GetCareAndFollowUp(ctx, &analyticsv1.GetCareAndFollowUpRequest{})
			return err
		}},
	} {
		took, err := timed(d.call)
		b.scale = append(b.scale, scaleRow{"dashboard: " + d.name + " (target ≤ 1 s)", outcome(took, err)})
	}
	return nil
}

// outcome is a measured time, or how long until the call failed and why.
func outcome(took time.Duration, err error) string {
	if err != nil {
		return fmt.Sprintf("failed after %s: %v", took.Round(time.Millisecond), err)
	}
	return took.Round(time.Millisecond).String()
}

// catchUp waits until the analytics service's cursor of stream reaches
// that service's outbox head.
func catchUp(ctx context.Context, pool *pgxpool.Pool, stream string, limit time.Duration) error {
	start := time.Now()
	var head int64
	if err := pool.QueryRow(ctx, `SELECT coalesce(max(sequence), 0) FROM `+pgx.Identifier{stream, "outbox"}.Sanitize()).Scan(&head); err != nil {
		return err
	}
	for {
		var cursor int64
		if err := pool.QueryRow(ctx, `SELECT coalesce(max(sequence), 0) FROM analytics.consumer_cursors WHERE stream = $1`, stream).Scan(&cursor); err != nil {
			return err
		}
		if cursor >= head {
			return nil
		}
		if time.Since(start) > limit {
			return fmt.Errorf("analytics is still behind the %s events after %s (%d of %d)", stream, limit, cursor, head)
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(250 * time.Millisecond):
		}
	}
}
