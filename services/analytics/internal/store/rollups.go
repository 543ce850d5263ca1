package store

import (
	"context"
	"slices"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/kehu-crm/kehu/pkg/filter"
	"github.com/kehu-crm/kehu/pkg/pg"
	"github.com/kehu-crm/kehu/services/analytics/internal/insight"
)

// The journey map, the lifecycle funnel and cohort retention answer from
// the rollups of migration 0014 (whole UTC months; see there), kept
// current by the followers' batches: RollupsBefore and RollupsAfter around
// a batch's changes, RebuildRollups after a resync. A segment's members
// change with every evaluation, so a segment-scoped dashboard answers
// from the read model instead (the *Raw queries), with the same
// semantics.

// RollupsBefore implements insight.Tx: the customers and the current
// owners of the records.
func (t *tx) RollupsBefore(ctx context.Context, customerIDs, recordIDs []string) ([]string, error) {
	rows, err := t.tx.Query(ctx, `SELECT DISTINCT customer_id::text FROM records
		WHERE id = ANY ($1::uuid[]) AND customer_id <> ALL ($2::uuid[])`, recordIDs, customerIDs)
	owners, err := pg.Collect(rows, err, func(r pgx.Row) (string, error) {
		var id string
		return id, r.Scan(&id)
	})
	if err != nil {
		return nil, err
	}
	ids := append(slices.Clip(customerIDs), owners...)
	_, err = t.tx.Exec(ctx, `SELECT rollups_before($1::uuid[])`, ids)
	return ids, pg.Classify(err)
}

// RollupsAfter implements insight.Tx.
func (t *tx) RollupsAfter(ctx context.Context, customerIDs []string) error {
	_, err := t.tx.Exec(ctx, `SELECT rollups_after($1::uuid[])`, customerIDs)
	return pg.Classify(err)
}

// RebuildRollups implements insight.Tx.
func (t *tx) RebuildRollups(ctx context.Context) error {
	_, err := t.tx.Exec(ctx, `SELECT rollups_rebuild()`)
	return pg.Classify(err)
}

// managed narrows w to the rollup rows (alias x) of the customers the
// query covers; q has no segment.
func managed(w *filter.Where, q insight.DashboardQuery) {
	if q.AccountManager != "" {
		w.Add("x.account_manager = %s", q.AccountManager)
	}
	if q.Scope != "" {
		w.Add("x.account_manager IN ('', %s)", q.Scope)
	}
}

// month is t (a month's first instant in UTC) as the rollups' date.
func month(t time.Time) string { return t.UTC().Format(time.DateOnly) }

// median is the middle of values (the mean of the two middle ones for an
// even count), sorting them; 0 for none.
func median(values []int64) time.Duration {
	if len(values) == 0 {
		return 0
	}
	slices.Sort(values)
	n := len(values)
	// Microseconds, halved exactly in nanoseconds.
	return time.Duration(values[(n-1)/2]+values[n/2]) * time.Microsecond / 2
}

// journeyCells answers JourneyCells from journey_rollup: the counts in one
// statement, the durations of the conversions in a second, their medians
// taken here.
func (s *Store) journeyCells(ctx context.Context, q insight.DashboardQuery) ([]insight.JourneyCell, error) {
	w := &filter.Where{}
	a, b := w.Arg(month(q.Start)), w.Arg(month(q.End))
	w.Add("x.month >= " + a + "::date AND x.month < " + b + "::date")
	managed(w, q)
	rows, err := s.pool.Query(ctx, `
		SELECT x.stage, x.touchpoint, sum(x.interactions), coalesce(sum(x.customers) FILTER (WHERE x.prev_month < `+a+`::date), 0),
		       coalesce(sum(x.customers) FILTER (WHERE x.prev_month < `+a+`::date AND x.conv_month < `+b+`::date), 0),
		       coalesce(sum(x.rating_sum)::float8 / nullif(sum(x.rated), 0), 0), (100.0 * sum(x.complaints) / sum(x.interactions))::float8
		FROM journey_rollup x WHERE `+w.SQL()+`
		GROUP BY x.stage, x.touchpoint
		ORDER BY array_position(ARRAY['PROSPECT', 'FIRST_PURCHASE', 'REPEAT', 'LOYAL', 'AT_RISK', 'CHURNED'], x.stage), x.touchpoint`, w.Args()...)
	cells, err := pg.Collect(rows, err, func(r pgx.Row) (insight.JourneyCell, error) {
		var c insight.JourneyCell
		return c, r.Scan(&c.Stage, &c.Touchpoint, &c.Interactions, &c.Customers, &c.Converted, &c.AverageSatisfaction, &c.ComplaintPercent)
	})
	if err != nil {
		return nil, err
	}
	waits := map[[2]string][]int64{}
	rows, err = s.pool.Query(ctx, `
		SELECT x.stage, x.touchpoint, x.waits FROM journey_rollup x
		WHERE `+w.SQL()+` AND x.prev_month < `+a+`::date AND x.conv_month < `+b+`::date`, w.Args()...)
	if err != nil {
		return nil, pg.Classify(err)
	}
	var (
		stage, touchpoint string
		durations         []int64
	)
	_, err = pgx.ForEachRow(rows, []any{&stage, &touchpoint, &durations}, func() error {
		k := [2]string{stage, touchpoint}
		waits[k] = append(waits[k], durations...)
		return nil
	})
	if err != nil {
		return nil, pg.Classify(err)
	}
	for i := range cells {
		cells[i].MedianTimeToConvert = median(waits[[2]string{cells[i].Stage, cells[i].Touchpoint}])
	}
	return cells, nil
}

// funnelFlows answers FunnelFlows from funnel_rollup: per period (and, as
// "end", the entries before the end still in their stage then) the
// entries and those moved on before the period's end in one statement,
// the stays ended by then in a second, their medians taken here.
func (s *Store) funnelFlows(ctx context.Context, q insight.DashboardQuery, previousStart time.Time) ([]insight.FunnelRow, map[string]int64, error) {
	w := &filter.Where{}
	prev, start, end := w.Arg(month(previousStart)), w.Arg(month(q.Start)), w.Arg(month(q.End))
	w.Add("x.month < " + end + "::date")
	managed(w, q)
	periods := `WITH periods (previous, ps, pe) AS (VALUES (false, ` + start + `::date, ` + end + `::date), (true, ` + prev + `::date, ` + start + `::date))`
	rows, err := s.pool.Query(ctx, periods+`
		SELECT p.previous, x.stage, sum(x.entries), coalesce(sum(x.entries) FILTER (WHERE x.conv_month < p.pe), 0)
		FROM funnel_rollup x JOIN periods p ON x.month >= p.ps AND x.month < p.pe
		WHERE `+w.SQL()+`
		GROUP BY p.previous, x.stage`, w.Args()...)
	flows, err := pg.Collect(rows, err, func(r pgx.Row) (insight.FunnelRow, error) {
		var f insight.FunnelRow
		return f, r.Scan(&f.Previous, &f.Stage, &f.Entered, &f.Converted)
	})
	if err != nil {
		return nil, nil, err
	}
	type key struct {
		previous bool
		stage    string
	}
	stays := map[key][]int64{}
	rows, err = s.pool.Query(ctx, periods+`
		SELECT p.previous, x.stage, x.stays
		FROM funnel_rollup x JOIN periods p ON x.month >= p.ps AND x.month < p.pe
		WHERE `+w.SQL()+` AND x.left_month < p.pe AND cardinality(x.stays) > 0`, w.Args()...)
	if err != nil {
		return nil, nil, pg.Classify(err)
	}
	var (
		k         key
		durations []int64
	)
	_, err = pgx.ForEachRow(rows, []any{&k.previous, &k.stage, &durations}, func() error {
		stays[k] = append(stays[k], durations...)
		return nil
	})
	if err != nil {
		return nil, nil, pg.Classify(err)
	}
	for i := range flows {
		flows[i].MedianTimeInStage = median(stays[key{flows[i].Previous, flows[i].Stage}])
	}
	w = &filter.Where{}
	end = w.Arg(month(q.End))
	w.Add("x.month < " + end + "::date AND x.left_month >= " + end + "::date")
	managed(w, q)
	rows, err = s.pool.Query(ctx, `SELECT x.stage, sum(x.entries) FROM funnel_rollup x WHERE `+w.SQL()+` GROUP BY x.stage`, w.Args()...)
	if err != nil {
		return nil, nil, pg.Classify(err)
	}
	atEnd := map[string]int64{}
	var (
		stage string
		n     int64
	)
	_, err = pgx.ForEachRow(rows, []any{&stage, &n}, func() error { atEnd[stage] = n; return nil })
	return flows, atEnd, pg.Classify(err)
}

// cohortMonths answers CohortMonths from cohort_rollup.
func (s *Store) cohortMonths(ctx context.Context, q insight.DashboardQuery) ([]insight.CohortCount, error) {
	w := &filter.Where{}
	end := w.Arg(month(q.End))
	w.Add("x.cohort >= %s::date", month(q.Start))
	w.Add("x.cohort < " + end + "::date AND x.month < " + end + "::date")
	managed(w, q)
	rows, err := s.pool.Query(ctx, `
		SELECT to_char(x.cohort, 'YYYY-MM'),
		       ((extract(year FROM x.month) - extract(year FROM x.cohort)) * 12 + extract(month FROM x.month) - extract(month FROM x.cohort))::int,
		       sum(x.customers)
		FROM cohort_rollup x WHERE `+w.SQL()+`
		GROUP BY 1, 2 ORDER BY 1, 2`, w.Args()...)
	return pg.Collect(rows, err, func(r pgx.Row) (insight.CohortCount, error) {
		var c insight.CohortCount
		return c, r.Scan(&c.Month, &c.Offset, &c.Customers)
	})
}
