package desk

import (
	"context"
	"time"

	"github.com/kehu-crm/kehu/pkg/auth"
	"github.com/kehu-crm/kehu/pkg/errs"
)

// Stats are the service KPIs of a set of tickets.
type Stats struct {
	OpenByStatus   map[string]int64
	OpenByPriority map[string]int64
	Opened         int64
	Resolved       int64
	SLAMet         int64
	SLABreached    int64
	// Medians are wall-clock, over the period's first responses and
	// resolutions; zero when there were none.
	MedianFirstResponse time.Duration
	MedianResolution    time.Duration
}

// Compliance is the share of SLA-covered resolutions that met both targets.
func (s *Stats) Compliance() float64 {
	if n := s.SLAMet + s.SLABreached; n > 0 {
		return float64(s.SLAMet) / float64(n)
	}
	return 0
}

// StatsQuery selects the tickets of GetQueueStats.
type StatsQuery struct {
	// QueueIDs limits to these queues; nil means every queue.
	QueueIDs   []string
	Start, End time.Time
}

// QueueStats are a queue's KPIs in total and per assignee.
type QueueStats struct {
	Total    Stats
	ByAgent  map[string]*Stats
	Assignee []string
}

// defaultStatsPeriod is the period of GetQueueStats without one.
const defaultStatsPeriod = 30 * 24 * time.Hour

// GetQueueStats returns the KPIs of a queue ("queues/-": every queue the
// caller may see; agents see the queues they work).
func (s *Service) GetQueueStats(ctx context.Context, queue string, start, end time.Time) (*QueueStats, error) {
	a, err := auth.AccessFrom(ctx)
	if err != nil {
		return nil, err
	}
	if end.IsZero() {
		end = s.now()
	}
	if start.IsZero() {
		start = end.Add(-defaultStatsPeriod)
	}
	if !start.Before(end) {
		return nil, errs.InvalidField("start_time", "must be before end_time")
	}
	scope, err := s.scopeOf(ctx, a)
	if err != nil {
		return nil, err
	}
	q := StatsQuery{Start: start, End: end}
	if queue != "queues/-" {
		id, err := ParseQueueName("queue", queue)
		if err != nil {
			return nil, errs.InvalidField("queue", "must be \"queues/{queue}\" or \"queues/-\", got %q", queue)
		}
		if _, err := s.store.GetQueue(ctx, id); err != nil {
			return nil, notFoundAs(err, queue)
		}
		if scope != nil && !scope.works(id) {
			return nil, errs.NotFound(queue)
		}
		q.QueueIDs = []string{id}
	} else if scope != nil {
		q.QueueIDs = append([]string{}, scope.Queues...)
	}
	return s.store.QueueStats(ctx, q)
}

func (sc *Scope) works(queueID string) bool {
	for _, q := range sc.Queues {
		if q == queueID {
			return true
		}
	}
	return false
}
