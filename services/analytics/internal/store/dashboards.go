package store

import (
	"context"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/kehu-crm/kehu/pkg/filter"
	"github.com/kehu-crm/kehu/pkg/pg"
	"github.com/kehu-crm/kehu/services/analytics/internal/insight"
)

// scoped narrows w to the customers c the query covers.
func scoped(w *filter.Where, q insight.DashboardQuery) {
	if q.AccountManager != "" {
		w.Add("c.account_manager = %s", q.AccountManager)
	}
	if q.Scope != "" {
		w.Add("c.account_manager IN ('', %s)", q.Scope)
	}
	if q.SegmentID != "" {
		w.Add("EXISTS (SELECT 1 FROM memberships m WHERE m.customer_id = c.id AND m.segment_id = %s)", q.SegmentID)
	}
}

// purchasesIn is the WHERE clause of a dashboard's purchases (records r of
// live customers c) in the query's period and scope.
func purchasesIn(q insight.DashboardQuery) *filter.Where {
	w := &filter.Where{}
	w.Add("r.kind = 'PURCHASE' AND NOT r.deleted AND r.currency_code <> '' AND NOT c.deleted")
	if !q.Start.IsZero() {
		w.Add("r.occur_time >= %s", q.Start)
	}
	w.Add("r.occur_time < %s", q.End)
	scoped(w, q)
	return w
}

// rankedBuyers ranks each currency's buyers of the period by revenue,
// largest first (ties by id), with running and total sums: the base of
// the Pareto curve and the ABC tiers.
const rankedBuyers = `
	WITH buyers AS (
		SELECT r.currency_code AS cur, r.customer_id, sum(r.amount) AS revenue
		FROM records r JOIN customers c ON c.id = r.customer_id
		WHERE %s
		GROUP BY 1, 2
	), ranked AS (
		SELECT cur, customer_id, revenue,
		       row_number() OVER w AS n, count(*) OVER (PARTITION BY cur) AS buyers,
		       sum(revenue) OVER w AS cum, sum(revenue) OVER (PARTITION BY cur) AS total
		FROM buyers WINDOW w AS (PARTITION BY cur ORDER BY revenue DESC, customer_id ROWS UNBOUNDED PRECEDING)
	)`

// analytic runs fn in a read-only transaction for statements over
// everyone (see wholeModel).
func (s *Store) analytic(ctx context.Context, fn func(pgx.Tx) error) error {
	return pg.InTx(ctx, s.pool, pgx.ReadCommitted, func(tx pgx.Tx) error {
		if _, err := tx.Exec(ctx, `SET TRANSACTION READ ONLY`); err != nil {
			return pg.Classify(err)
		}
		if err := wholeModel(ctx, tx); err != nil {
			return err
		}
		return fn(tx)
	})
}

// wholeModel lets tx's sorts and hashes use up to 256 MB each, for
// statements over everyone (ranking up to a million buyers, grouping ten
// million records by customer), which the default work_mem spills to disk.
func wholeModel(ctx context.Context, tx pgx.Tx) error {
	_, err := tx.Exec(ctx, `SELECT set_config('work_mem', '256MB', true)`)
	return pg.Classify(err)
}

// ValueDistribution implements insight.Store in one statement over the
// period's purchases: the buyers are ranked once, then read for both the
// curve and the tiers. A buyer is a point of the curve when some k of
// 1..P (P = min(N, 100) evenly spaced points) has ceil(k × N / P) = their
// rank n, that is when floor(n × P / N) > floor((n − 1) × P / N): one pass
// over the ranks rather than a join of every rank with the points.
func (s *Store) ValueDistribution(ctx context.Context, q insight.DashboardQuery, shareA, shareB float64) ([]insight.CurrencyDistribution, error) {
	w := purchasesIn(q)
	a, b := w.Arg(shareA), w.Arg(shareB)
	var out []insight.CurrencyDistribution
	err := s.analytic(ctx, func(tx pgx.Tx) error {
		out = nil
		rows, err := tx.Query(ctx, fmt.Sprintf(rankedBuyers, w.SQL())+fmt.Sprintf(`
			SELECT cur, false, '', buyers, total::text, 100.0 * n / buyers,
			       CASE WHEN total = 0 THEN 0 ELSE (100 * cum / total)::float8 END
			FROM ranked WHERE n * least(buyers, 100) / buyers > (n - 1) * least(buyers, 100) / buyers
			UNION ALL
			SELECT cur, true, tier, count(*), sum(revenue)::text, 0,
			       CASE WHEN min(total) = 0 THEN 0 ELSE (100 * sum(revenue) / min(total))::float8 END
			FROM (SELECT cur, revenue, total,
			             CASE WHEN total = 0 OR revenue = 0 THEN 'C'
			                  WHEN (cum - revenue) / total < %s THEN 'A'
			                  WHEN (cum - revenue) / total < %s THEN 'B'
			                  ELSE 'C' END AS tier
			      FROM ranked) t
			GROUP BY cur, tier
			ORDER BY 1, 2, 3, 6`, a, b), w.Args()...)
		if err != nil {
			return pg.Classify(err)
		}
		var (
			cur, tier, sum string
			isTier         bool
			count          int64
			custPercent    float64
			revPercent     float64
		)
		_, err = pgx.ForEachRow(rows, []any{&cur, &isTier, &tier, &count, &sum, &custPercent, &revPercent}, func() error {
			if len(out) == 0 || out[len(out)-1].Currency != cur {
				out = append(out, insight.CurrencyDistribution{Currency: cur})
			}
			d := &out[len(out)-1]
			if isTier {
				d.Tiers = append(d.Tiers, insight.TierShare{Tier: tier, Customers: count, Revenue: pg.Decimal(sum), RevenuePercent: revPercent})
				return nil
			}
			d.Customers, d.Revenue = count, pg.Decimal(sum)
			d.Pareto = append(d.Pareto, insight.ParetoPoint{CustomerPercent: custPercent, RevenuePercent: revPercent})
			return nil
		})
		return pg.Classify(err)
	})
	return out, err
}

// RfmCells implements insight.Store: the customers who bought in the
// period in currency, scored R, F and M by quintiles as of the period's
// end (as the scoring pass does), counted per R × F cell.
func (s *Store) RfmCells(ctx context.Context, q insight.DashboardQuery, currency string) ([]insight.RfmCell, error) {
	w := purchasesIn(q)
	w.Add("r.currency_code = %s", currency)
	var cells []insight.RfmCell
	err := s.analytic(ctx, func(tx pgx.Tx) error {
		rows, err := tx.Query(ctx, `
		WITH active AS (
			SELECT r.customer_id, max(r.occur_time) AS last, count(*) AS n, sum(r.amount) AS m
			FROM records r JOIN customers c ON c.id = r.customer_id
			WHERE `+w.SQL()+`
			GROUP BY r.customer_id
		), scored AS (
			SELECT ceil(5 * cume_dist() OVER (ORDER BY last))::int AS r,
			       ceil(5 * cume_dist() OVER (ORDER BY n))::int AS f,
			       ceil(5 * cume_dist() OVER (ORDER BY m))::int AS mo, m
			FROM active
		)
		SELECT r, f, count(*), round(avg(m), 2)::text, avg(mo)::float8 FROM scored GROUP BY r, f ORDER BY r, f`, w.Args()...)
		cells, err = pg.Collect(rows, err, func(r pgx.Row) (insight.RfmCell, error) {
			var c insight.RfmCell
			err := r.Scan(&c.Recency, &c.Frequency, &c.Customers, &c.AverageMonetary, &c.AverageMonetaryScore)
			c.AverageMonetary = pg.Decimal(c.AverageMonetary)
			return c, err
		})
		return err
	})
	return cells, err
}

// CohortMonths implements insight.Store, from the rollups unless a
// segment scopes it.
func (s *Store) CohortMonths(ctx context.Context, q insight.DashboardQuery) ([]insight.CohortCount, error) {
	if q.SegmentID == "" {
		return s.cohortMonths(ctx, q)
	}
	return s.cohortMonthsRaw(ctx, q)
}

// cohortMonthsRaw is CohortMonths from the read model: each in-scope
// customer's months with a purchase (UTC), their cohort the first of them
// ever; counted per cohort of the period and month offset up to the
// period's end.
func (s *Store) cohortMonthsRaw(ctx context.Context, q insight.DashboardQuery) ([]insight.CohortCount, error) {
	w := purchasesIn(insight.DashboardQuery{Start: time.Time{}, End: q.End, SegmentID: q.SegmentID, AccountManager: q.AccountManager, Scope: q.Scope})
	from, to := w.Arg(q.Start), w.Arg(q.End)
	rows, err := s.pool.Query(ctx, `
		WITH bought AS (
			SELECT DISTINCT r.customer_id, date_trunc('month', r.occur_time AT TIME ZONE 'UTC') AS month
			FROM records r JOIN customers c ON c.id = r.customer_id
			WHERE `+w.SQL()+`
		), cohort AS (
			SELECT customer_id, min(month) AS month FROM bought GROUP BY customer_id
		)
		SELECT to_char(f.month, 'YYYY-MM'),
		       ((extract(year FROM b.month) - extract(year FROM f.month)) * 12 + extract(month FROM b.month) - extract(month FROM f.month))::int,
		       count(*)
		FROM cohort f JOIN bought b ON b.customer_id = f.customer_id
		WHERE f.month >= date_trunc('month', `+from+`::timestamptz AT TIME ZONE 'UTC') AND f.month < (`+to+`::timestamptz AT TIME ZONE 'UTC')
		GROUP BY 1, 2 ORDER BY 1, 2`, w.Args()...)
	return pg.Collect(rows, err, func(r pgx.Row) (insight.CohortCount, error) {
		var c insight.CohortCount
		return c, r.Scan(&c.Month, &c.Offset, &c.Customers)
	})
}

// movedOn is the SQL array of the stages that count as moving on from
// the stage expression stage: the later stages of the funnel, or buying
// again after AT_RISK and CHURNED; none from LOYAL.
func movedOn(stage string) string {
	return `CASE ` + stage + `
		WHEN 'PROSPECT' THEN ARRAY['FIRST_PURCHASE', 'REPEAT', 'LOYAL']
		WHEN 'FIRST_PURCHASE' THEN ARRAY['REPEAT', 'LOYAL']
		WHEN 'REPEAT' THEN ARRAY['LOYAL']
		WHEN 'AT_RISK' THEN ARRAY['REPEAT', 'LOYAL']
		WHEN 'CHURNED' THEN ARRAY['FIRST_PURCHASE', 'REPEAT', 'LOYAL']
		ELSE ARRAY[]::text[] END`
}

// JourneyCells implements insight.Store, from the rollups unless a
// segment scopes it.
func (s *Store) JourneyCells(ctx context.Context, q insight.DashboardQuery) ([]insight.JourneyCell, error) {
	if q.SegmentID == "" {
		return s.journeyCells(ctx, q)
	}
	return s.journeyCellsRaw(ctx, q)
}

// journeyCellsRaw is JourneyCells from the read model, in one statement:
// the period's interactions with a touchpoint and a stage, per stage ×
// touchpoint, and for each customer's first interaction at a cell the
// first later move to a stage that counts as moving on.
func (s *Store) journeyCellsRaw(ctx context.Context, q insight.DashboardQuery) ([]insight.JourneyCell, error) {
	w := &filter.Where{}
	w.Add("NOT r.deleted AND NOT c.deleted AND r.touchpoint <> '' AND r.stage <> ''")
	w.Add("r.occur_time >= %s AND r.occur_time < %s", q.Start, q.End)
	scoped(w, q)
	end := w.Arg(q.End)
	rows, err := s.pool.Query(ctx, `
		WITH touches AS (
			SELECT r.customer_id, r.stage, r.touchpoint, r.occur_time, r.satisfaction, r.kind
			FROM records r JOIN customers c ON c.id = r.customer_id
			WHERE `+w.SQL()+`
		), cells AS (
			SELECT stage, touchpoint, count(*) AS interactions, count(DISTINCT customer_id) AS customers,
			       coalesce(avg(satisfaction) FILTER (WHERE satisfaction BETWEEN 1 AND 5), 0)::float8 AS satisfaction,
			       (100.0 * count(*) FILTER (WHERE kind = 'COMPLAINT_MENTION') / count(*))::float8 AS complaints
			FROM touches GROUP BY stage, touchpoint
		), firsts AS (
			SELECT stage, touchpoint, customer_id, min(occur_time) AS first FROM touches GROUP BY 1, 2, 3
		), moves AS (
			-- One join rather than a lookup per first touch: the first
			-- later move on of each, if any.
			SELECT f.stage, f.touchpoint, f.first, min(t.at) AS moved
			FROM firsts f LEFT JOIN stage_transitions t ON t.customer_id = f.customer_id AND t.at > f.first AND t.at < `+end+`
			     AND t.stage = ANY (`+movedOn("f.stage")+`)
			GROUP BY f.stage, f.touchpoint, f.customer_id, f.first
		), converted AS (
			SELECT stage, touchpoint, count(moved) AS n,
			       percentile_cont(0.5) WITHIN GROUP (ORDER BY extract(epoch FROM moved - first)) FILTER (WHERE moved IS NOT NULL) AS median
			FROM moves GROUP BY stage, touchpoint
		)
		SELECT c.stage, c.touchpoint, c.interactions, c.customers, v.n, coalesce(v.median, 0)::float8, c.satisfaction, c.complaints
		FROM cells c JOIN converted v USING (stage, touchpoint)
		ORDER BY array_position(ARRAY['PROSPECT', 'FIRST_PURCHASE', 'REPEAT', 'LOYAL', 'AT_RISK', 'CHURNED'], c.stage), c.touchpoint`, w.Args()...)
	return pg.Collect(rows, err, func(r pgx.Row) (insight.JourneyCell, error) {
		var c insight.JourneyCell
		var median float64
		err := r.Scan(&c.Stage, &c.Touchpoint, &c.Interactions, &c.Customers, &c.Converted, &median, &c.AverageSatisfaction, &c.ComplaintPercent)
		c.MedianTimeToConvert = time.Duration(median * float64(time.Second))
		return c, err
	})
}

// ServiceKpis implements insight.Store in one statement: each ticket
// contributes to the bucket of each of its moments (opened, first
// answered, resolved, rated), per queue and for all queues together.
func (s *Store) ServiceKpis(ctx context.Context, q insight.DashboardQuery, granularity string) ([]insight.ServiceKpiPoint, int64, error) {
	w := &filter.Where{}
	w.Add("NOT k.deleted AND NOT c.deleted")
	scoped(w, q)
	start, end, unit := w.Arg(q.Start), w.Arg(q.End), w.Arg(granularity)
	in := func(col string) string { return col + " >= " + start + " AND " + col + " < " + end }
	bucket := func(col string) string { return "date_trunc(" + unit + ", " + col + " AT TIME ZONE 'UTC')" }
	var points []insight.ServiceKpiPoint
	err := s.analytic(ctx, func(tx pgx.Tx) error {
		rows, err := tx.Query(ctx, `
		WITH t AS (SELECT k.* FROM tickets k JOIN customers c ON c.id = k.customer_id WHERE `+w.SQL()+`),
		facts AS (
			SELECT `+bucket("create_time")+` AS b, queue, 1 AS opened, 0 AS resolved, 0 AS met, 0 AS breached,
			       NULL::float8 AS fr, NULL::float8 AS res, NULL::int AS csat, NULL::int AS nps, (type = 'COMPLAINT')::int AS complaint
			FROM t WHERE `+in("create_time")+`
			UNION ALL
			SELECT `+bucket("first_response_time")+`, queue, 0, 0, (first_response_sla = 'MET')::int, (first_response_sla = 'BREACHED')::int,
			       extract(epoch FROM first_response_time - create_time)::float8, NULL, NULL, NULL, 0
			FROM t WHERE `+in("first_response_time")+`
			UNION ALL
			SELECT `+bucket("resolve_time")+`, queue, 0, 1, (resolution_sla = 'MET')::int, (resolution_sla = 'BREACHED')::int,
			       NULL, extract(epoch FROM resolve_time - create_time)::float8, NULL, NULL, 0
			FROM t WHERE `+in("resolve_time")+`
			UNION ALL
			SELECT `+bucket("a.answer_time")+`, t.queue, 0, 0, 0, 0, NULL, NULL,
			       CASE WHEN a.kind = 'CSAT' THEN a.score END, CASE WHEN a.kind = 'NPS' THEN a.score END, 0
			FROM answers a JOIN t ON t.id = a.ticket_id WHERE `+in("a.answer_time")+`
		)
		SELECT to_char(b, 'YYYY-MM-DD'), CASE WHEN grouping(queue) = 1 THEN NULL ELSE queue END,
		       sum(opened), sum(resolved), sum(met), sum(breached),
		       coalesce(percentile_cont(0.5) WITHIN GROUP (ORDER BY fr), 0), coalesce(percentile_cont(0.5) WITHIN GROUP (ORDER BY res), 0),
		       count(csat), coalesce(avg(csat), 0)::float8,
		       count(nps), coalesce(100.0 * (count(*) FILTER (WHERE nps >= 9) - count(*) FILTER (WHERE nps <= 6)) / nullif(count(nps), 0), 0)::float8,
		       sum(complaint)
		FROM facts GROUP BY GROUPING SETS ((b, queue), (b))
		ORDER BY b, grouping(queue) DESC, queue`, w.Args()...)
		points, err = pg.Collect(rows, err, func(r pgx.Row) (insight.ServiceKpiPoint, error) {
			var p insight.ServiceKpiPoint
			var queue *string
			var fr, res float64
			err := r.Scan(&p.Bucket, &queue, &p.Opened, &p.Resolved, &p.SLAMet, &p.SLABreached, &fr, &res,
				&p.CSATAnswers, &p.CSATAverage, &p.NPSAnswers, &p.NPS, &p.Complaints)
			if queue != nil {
				p.Queue, p.PerQueue = *queue, true
			}
			p.MedianFirstResponse = time.Duration(fr * float64(time.Second))
			p.MedianResolution = time.Duration(res * float64(time.Second))
			return p, err
		})
		return err
	})
	if err != nil {
		return nil, 0, err
	}
	cw := &filter.Where{}
	cw.Add("NOT c.deleted")
	scoped(cw, q)
	var customers int64
	err = s.pool.QueryRow(ctx, `SELECT count(*) FROM customers c WHERE `+cw.SQL(), cw.Args()...).Scan(&customers)
	return points, customers, pg.Classify(err)
}

// FunnelFlows implements insight.Store, from the rollups unless a segment
// scopes it.
func (s *Store) FunnelFlows(ctx context.Context, q insight.DashboardQuery, previousStart time.Time) ([]insight.FunnelRow, map[string]int64, error) {
	if q.SegmentID == "" {
		return s.funnelFlows(ctx, q, previousStart)
	}
	return s.funnelFlowsRaw(ctx, q, previousStart)
}

// funnelFlowsRaw is FunnelFlows from the read model: every recorded entry
// into a stage (a stage change, or a creation) of the customers in scope,
// per period and stage: how many, how many moved on before the period's
// end, and the median time in the stage of those that left it by then;
// and per stage the customers in it at the end.
func (s *Store) funnelFlowsRaw(ctx context.Context, q insight.DashboardQuery, previousStart time.Time) ([]insight.FunnelRow, map[string]int64, error) {
	w := &filter.Where{}
	w.Add("NOT c.deleted")
	scoped(w, q)
	start, end, prev := w.Arg(q.Start), w.Arg(q.End), w.Arg(previousStart)
	rows, err := s.pool.Query(ctx, `
		WITH scope AS (SELECT c.id FROM customers c WHERE `+w.SQL()+`),
		entries AS (
			SELECT t.customer_id, t.stage, t.at, lead(t.at) OVER (PARTITION BY t.customer_id ORDER BY t.at, t.stage) AS left_at
			FROM stage_transitions t JOIN scope s ON s.id = t.customer_id
		),
		periods (name, ps, pe) AS (VALUES ('current', `+start+`::timestamptz, `+end+`::timestamptz), ('previous', `+prev+`::timestamptz, `+start+`::timestamptz))
		SELECT p.name = 'previous', e.stage, count(*),
		       count(*) FILTER (WHERE EXISTS (SELECT 1 FROM stage_transitions n WHERE n.customer_id = e.customer_id
		           AND n.at > e.at AND n.at < p.pe AND n.stage = ANY (`+movedOn("e.stage")+`))),
		       coalesce(percentile_cont(0.5) WITHIN GROUP (ORDER BY extract(epoch FROM e.left_at - e.at)) FILTER (WHERE e.left_at < p.pe), 0)
		FROM entries e JOIN periods p ON e.at >= p.ps AND e.at < p.pe
		GROUP BY p.name, e.stage`, w.Args()...)
	flows, err := pg.Collect(rows, err, func(r pgx.Row) (insight.FunnelRow, error) {
		var f insight.FunnelRow
		var median float64
		err := r.Scan(&f.Previous, &f.Stage, &f.Entered, &f.Converted, &median)
		f.MedianTimeInStage = time.Duration(median * float64(time.Second))
		return f, err
	})
	if err != nil {
		return nil, nil, err
	}
	w = &filter.Where{}
	w.Add("NOT c.deleted")
	scoped(w, q)
	end = w.Arg(q.End)
	rows, err = s.pool.Query(ctx, `
		SELECT stage, count(*) FROM (
			SELECT DISTINCT ON (t.customer_id) t.stage FROM stage_transitions t JOIN customers c ON c.id = t.customer_id
			WHERE `+w.SQL()+` AND t.at < `+end+` ORDER BY t.customer_id, t.at DESC, t.stage DESC) last
		GROUP BY stage`, w.Args()...)
	if err != nil {
		return nil, nil, pg.Classify(err)
	}
	atEnd := map[string]int64{}
	var stage string
	var n int64
	_, err = pgx.ForEachRow(rows, []any{&stage, &n}, func() error { atEnd[stage] = n; return nil })
	return flows, atEnd, pg.Classify(err)
}

// FollowUpCounts implements insight.Store: the follow-ups due in the
// period of the customers in scope, by state, per assignee and (care
// greetings) per care rule.
func (s *Store) FollowUpCounts(ctx context.Context, q insight.DashboardQuery) (assignees, rules []insight.FollowUpCounts, err error) {
	w := &filter.Where{}
	w.Add("NOT c.deleted")
	scoped(w, q)
	w.Add("f.due_time >= %s AND f.due_time < %s", q.Start, q.End)
	err = s.analytic(ctx, func(tx pgx.Tx) error {
		assignees, rules = nil, nil
		rows, err := tx.Query(ctx, `
		SELECT grouping(f.care_rule) = 0, CASE WHEN grouping(f.care_rule) = 0 THEN f.care_rule ELSE f.assignee END,
		       count(*), count(*) FILTER (WHERE f.state = 'COMPLETED'), count(*) FILTER (WHERE f.state = 'MISSED'),
		       count(*) FILTER (WHERE f.state = 'CANCELLED'), count(*) FILTER (WHERE f.state = 'PLANNED')
		FROM follow_ups f JOIN customers c ON c.id = f.customer_id
		WHERE `+w.SQL()+`
		GROUP BY GROUPING SETS ((f.assignee), (f.care_rule))
		HAVING grouping(f.care_rule) = 1 OR f.care_rule <> ''
		ORDER BY 1, 2`, w.Args()...)
		if err != nil {
			return pg.Classify(err)
		}
		var (
			rule bool
			c    insight.FollowUpCounts
		)
		_, err = pgx.ForEachRow(rows, []any{&rule, &c.Key, &c.Due, &c.Completed, &c.Missed, &c.Cancelled, &c.Planned}, func() error {
			if rule {
				rules = append(rules, c)
			} else {
				assignees = append(assignees, c)
			}
			return nil
		})
		return pg.Classify(err)
	})
	return assignees, rules, err
}
