package store

import (
	"context"
	"sort"
	"time"

	"github.com/kehu-crm/kehu/pkg/pg"
	"github.com/kehu-crm/kehu/services/servicedesk/internal/desk"
)

// QueueStats implements desk.Store with two set-based queries: the active
// tickets by assignee, status and priority, and the period's figures per
// assignee and in total (GROUPING SETS), medians by percentile_cont.
func (s *Store) QueueStats(ctx context.Context, q desk.StatsQuery) (*desk.QueueStats, error) {
	out := &desk.QueueStats{Total: *newStats(), ByAgent: map[string]*desk.Stats{}}
	agent := func(a string) *desk.Stats {
		st, ok := out.ByAgent[a]
		if !ok {
			st = newStats()
			out.ByAgent[a] = st
			out.Assignee = append(out.Assignee, a)
		}
		return st
	}
	all := q.QueueIDs == nil
	rows, err := s.pool.Query(ctx, `
		SELECT assignee, status, priority, count(*) FROM tickets
		WHERE delete_time IS NULL AND status IN ('NEW', 'OPEN', 'PENDING_CUSTOMER') AND ($1 OR queue_id = ANY($2))
		GROUP BY assignee, status, priority`, all, q.QueueIDs)
	if err != nil {
		return nil, pg.Classify(err)
	}
	for rows.Next() {
		var (
			assignee, status, priority string
			n                          int64
		)
		if err := rows.Scan(&assignee, &status, &priority, &n); err != nil {
			rows.Close()
			return nil, pg.Classify(err)
		}
		for _, st := range []*desk.Stats{&out.Total, agent(assignee)} {
			st.OpenByStatus[status] += n
			st.OpenByPriority[priority] += n
		}
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return nil, pg.Classify(err)
	}

	rows, err = s.pool.Query(ctx, `
		WITH t AS (
			SELECT assignee, sla_policy_id, create_time, first_response_time, resolve_time,
			       fr_elapsed_ms <= fr_target_ms AND res_elapsed_ms <= res_target_ms AS met,
			       resolve_time >= $3 AND resolve_time < $4 AS resolved_in,
			       first_response_time >= $3 AND first_response_time < $4 AS responded_in
			FROM tickets WHERE delete_time IS NULL AND ($1 OR queue_id = ANY($2))
		)
		SELECT GROUPING(assignee) = 1, coalesce(assignee, ''),
		       count(*) FILTER (WHERE create_time >= $3 AND create_time < $4),
		       count(*) FILTER (WHERE resolved_in),
		       count(*) FILTER (WHERE resolved_in AND sla_policy_id IS NOT NULL AND met),
		       count(*) FILTER (WHERE resolved_in AND sla_policy_id IS NOT NULL AND NOT met),
		       coalesce(percentile_cont(0.5) WITHIN GROUP (ORDER BY extract(epoch FROM first_response_time - create_time))
		                FILTER (WHERE responded_in), 0),
		       coalesce(percentile_cont(0.5) WITHIN GROUP (ORDER BY extract(epoch FROM resolve_time - create_time))
		                FILTER (WHERE resolved_in), 0)
		FROM t GROUP BY GROUPING SETS ((), (assignee))`, all, q.QueueIDs, q.Start, q.End)
	if err != nil {
		return nil, pg.Classify(err)
	}
	defer rows.Close()
	for rows.Next() {
		var (
			total    bool
			assignee string
			fr, res  float64
			st       desk.Stats
		)
		if err := rows.Scan(&total, &assignee, &st.Opened, &st.Resolved, &st.SLAMet, &st.SLABreached, &fr, &res); err != nil {
			return nil, pg.Classify(err)
		}
		target := &out.Total
		if !total {
			target = agent(assignee)
		}
		target.Opened, target.Resolved, target.SLAMet, target.SLABreached = st.Opened, st.Resolved, st.SLAMet, st.SLABreached
		target.MedianFirstResponse = seconds(fr)
		target.MedianResolution = seconds(res)
	}
	sort.Strings(out.Assignee)
	return out, pg.Classify(rows.Err())
}

func newStats() *desk.Stats {
	return &desk.Stats{OpenByStatus: map[string]int64{}, OpenByPriority: map[string]int64{}}
}

func seconds(s float64) time.Duration {
	return time.Duration(s * float64(time.Second)).Round(time.Millisecond)
}
