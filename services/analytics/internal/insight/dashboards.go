package insight

import (
	"cmp"
	"context"
	"slices"
	"time"

	"github.com/kehu-crm/kehu/pkg/auth"
	"github.com/kehu-crm/kehu/pkg/errs"
)

// DashboardRequest is what every dashboard is asked for: a period
// (default the 12 months to now), optionally one segment's members and one
// account manager's customers.
type DashboardRequest struct {
	Start, End     *time.Time
	Segment        string
	AccountManager string
	// Currency, for dashboards in one currency (default the scoring one).
	Currency string
	// Granularity of series over time: WEEK or MONTH (default).
	Granularity string
}

// DashboardQuery is a checked DashboardRequest in the store's terms.
type DashboardQuery struct {
	Start, End     time.Time
	SegmentID      string
	AccountManager string
	// Scope, when set, keeps the customers it manages and the pool (an
	// agent's view).
	Scope string
}

// ValueDistribution is how revenue spreads over customers, per currency.
type ValueDistribution struct {
	Start, End time.Time
	Currencies []CurrencyDistribution
}

// CurrencyDistribution is one currency's Pareto curve and ABC tiers.
type CurrencyDistribution struct {
	Currency  string
	Customers int64
	Revenue   string
	Pareto    []ParetoPoint
	Tiers     []TierShare
}

// ParetoPoint is a point of the Pareto curve, in percent.
type ParetoPoint struct{ CustomerPercent, RevenuePercent float64 }

// TierShare is one ABC tier's customers and revenue.
type TierShare struct {
	Tier, ValueLevel string
	Customers        int64
	Revenue          string
	RevenuePercent   float64
}

// RfmGrid is the recency × frequency grid of a period.
type RfmGrid struct {
	Start, End time.Time
	Currency   string
	Customers  int64
	Cells      []RfmCell
	Labels     []LabelCount
}

// RfmCell is one cell of the grid.
type RfmCell struct {
	Recency, Frequency   int
	Customers            int64
	AverageMonetary      string
	AverageMonetaryScore float64
}

// LabelCount is how many customers carry an RFM label.
type LabelCount struct {
	Label     string
	Customers int64
}

// maxPeriod bounds a dashboard's period.
const maxPeriod = 10 * 366 * 24 * time.Hour

// dashboardQuery checks a request and scopes it to the caller: agents see
// their own customers and the pool; a personal segment is unknown to
// masked callers.
func (s *Service) dashboardQuery(ctx context.Context, in DashboardRequest) (DashboardQuery, error) {
	a, err := auth.AccessFrom(ctx)
	if err != nil {
		return DashboardQuery{}, err
	}
	q := DashboardQuery{End: s.now(), AccountManager: in.AccountManager, Scope: a.Scope()}
	if in.End != nil {
		q.End = in.End.UTC()
	}
	q.Start = q.End.AddDate(-1, 0, 0)
	if in.Start != nil {
		q.Start = in.Start.UTC()
	}
	var v errs.Violations
	if !q.Start.Before(q.End) {
		v.Add("start_time", "must be before end_time (%s), got %s", q.End.Format(time.RFC3339), q.Start.Format(time.RFC3339))
	} else if q.End.Sub(q.Start) > maxPeriod {
		v.Add("start_time", "the period may span at most 10 years")
	}
	if len(in.AccountManager) > 200 {
		v.Add("account_manager", "must be at most 200 characters")
	}
	if in.Currency != "" && len(in.Currency) != 3 {
		v.Add("currency_code", "must be an ISO 4217 code such as CNY, got %q", in.Currency)
	}
	if in.Segment != "" {
		if q.SegmentID, err = parseSegmentName("segment", in.Segment); err != nil {
			v.Add("segment", "%s", filterProblem(err))
		}
	}
	if err := v.Err(); err != nil {
		return DashboardQuery{}, err
	}
	if q.SegmentID != "" {
		if _, err := s.segment(ctx, q.SegmentID, in.Segment); err != nil {
			return DashboardQuery{}, err
		}
	}
	return q, nil
}

// monthsQuery is dashboardQuery for the dashboards whose periods are whole
// months in UTC (those answered from rollups): the end moves up to the
// first instant of the next month unless it is one, the start down to the
// first of its month, or without one to 12 months before the end.
func (s *Service) monthsQuery(ctx context.Context, in DashboardRequest) (DashboardQuery, error) {
	q, err := s.dashboardQuery(ctx, in)
	if err != nil {
		return DashboardQuery{}, err
	}
	if m := monthOf(q.End); !m.Equal(q.End) {
		q.End = m.AddDate(0, 1, 0)
	}
	q.Start = monthOf(q.Start)
	if in.Start == nil {
		q.Start = q.End.AddDate(0, -12, 0)
	}
	return q, nil
}

// monthOf is the first instant of t's month in UTC.
func monthOf(t time.Time) time.Time {
	t = t.UTC()
	return time.Date(t.Year(), t.Month(), 1, 0, 0, 0, 0, time.UTC)
}

// GetValueDistribution answers the value distribution dashboard.
func (s *Service) GetValueDistribution(ctx context.Context, in DashboardRequest) (*ValueDistribution, error) {
	q, err := s.dashboardQuery(ctx, in)
	if err != nil {
		return nil, err
	}
	currencies, err := s.store.ValueDistribution(ctx, q, s.cfg.ShareA, s.cfg.ShareB)
	if err != nil {
		return nil, err
	}
	for i := range currencies {
		for j := range currencies[i].Tiers {
			currencies[i].Tiers[j].ValueLevel = valueLevel(currencies[i].Tiers[j].Tier)
		}
	}
	return &ValueDistribution{Start: q.Start, End: q.End, Currencies: currencies}, nil
}

// GetRfmGrid answers the RFM grid dashboard.
func (s *Service) GetRfmGrid(ctx context.Context, in DashboardRequest) (*RfmGrid, error) {
	q, err := s.dashboardQuery(ctx, in)
	if err != nil {
		return nil, err
	}
	currency := cmp.Or(in.Currency, s.cfg.Currency)
	cells, err := s.store.RfmCells(ctx, q, currency)
	if err != nil {
		return nil, err
	}
	g := &RfmGrid{Start: q.Start, End: q.End, Currency: currency, Cells: cells}
	labels := map[string]int64{}
	for _, c := range cells {
		g.Customers += c.Customers
		labels[RFMLabel(c.Recency, c.Frequency)] += c.Customers
	}
	for l, n := range labels {
		g.Labels = append(g.Labels, LabelCount{Label: l, Customers: n})
	}
	slices.SortFunc(g.Labels, func(x, y LabelCount) int {
		return cmp.Or(cmp.Compare(y.Customers, x.Customers), cmp.Compare(x.Label, y.Label))
	})
	return g, nil
}

// CohortCount is how many of a cohort bought in a month after its own
// (Percent of the cohort).
type CohortCount struct {
	Month     string
	Offset    int
	Customers int64
	Percent   float64
}

// Cohort is one month's first buyers and how many bought in later months.
type Cohort struct {
	Month     string
	Customers int64
	Months    []CohortCount
}

// CohortRetention is the cohort retention dashboard.
type CohortRetention struct {
	Start, End time.Time
	Cohorts    []Cohort
}

// GetCohortRetention answers the cohort retention dashboard.
func (s *Service) GetCohortRetention(ctx context.Context, in DashboardRequest) (*CohortRetention, error) {
	q, err := s.monthsQuery(ctx, in)
	if err != nil {
		return nil, err
	}
	counts, err := s.store.CohortMonths(ctx, q)
	if err != nil {
		return nil, err
	}
	out := &CohortRetention{Start: q.Start, End: q.End}
	for _, c := range counts {
		if len(out.Cohorts) == 0 || out.Cohorts[len(out.Cohorts)-1].Month != c.Month {
			out.Cohorts = append(out.Cohorts, Cohort{Month: c.Month})
		}
		co := &out.Cohorts[len(out.Cohorts)-1]
		if c.Offset == 0 {
			co.Customers = c.Customers
		}
		c.Percent = 100 * float64(c.Customers) / float64(co.Customers)
		co.Months = append(co.Months, c)
	}
	return out, nil
}

// JourneyCell is one lifecycle stage × touchpoint of the journey map.
type JourneyCell struct {
	Stage, Touchpoint       string
	Interactions, Customers int64
	Converted               int64
	ConversionPercent       float64
	MedianTimeToConvert     time.Duration
	AverageSatisfaction     float64
	ComplaintPercent        float64
}

// JourneyMap is the journey map dashboard.
type JourneyMap struct {
	Start, End time.Time
	Cells      []JourneyCell
}

// GetJourneyMap answers the journey map dashboard.
func (s *Service) GetJourneyMap(ctx context.Context, in DashboardRequest) (*JourneyMap, error) {
	q, err := s.monthsQuery(ctx, in)
	if err != nil {
		return nil, err
	}
	cells, err := s.store.JourneyCells(ctx, q)
	if err != nil {
		return nil, err
	}
	for i := range cells {
		cells[i].ConversionPercent = 100 * float64(cells[i].Converted) / float64(cells[i].Customers)
	}
	return &JourneyMap{Start: q.Start, End: q.End, Cells: cells}, nil
}

// ServiceKpiPoint is one queue's (or, without PerQueue, all queues')
// service indicators in one bucket.
type ServiceKpiPoint struct {
	Bucket                                string
	Queue                                 string
	PerQueue                              bool
	Opened, Resolved                      int64
	SLAMet, SLABreached                   int64
	SLACompliancePercent                  float64
	MedianFirstResponse, MedianResolution time.Duration
	CSATAnswers                           int64
	CSATAverage                           float64
	NPSAnswers                            int64
	NPS                                   float64
	Complaints                            int64
	ComplaintsPerThousand                 float64
}

// ServiceKpis is the service KPI dashboard.
type ServiceKpis struct {
	Start, End time.Time
	Points     []ServiceKpiPoint
}

// GetServiceKpis answers the service KPI dashboard.
func (s *Service) GetServiceKpis(ctx context.Context, in DashboardRequest) (*ServiceKpis, error) {
	granularity := map[string]string{"": "month", "MONTH": "month", "WEEK": "week"}[in.Granularity]
	if granularity == "" {
		return nil, errs.InvalidField("granularity", "must be WEEK or MONTH, got %q", in.Granularity)
	}
	q, err := s.dashboardQuery(ctx, in)
	if err != nil {
		return nil, err
	}
	points, customers, err := s.store.ServiceKpis(ctx, q, granularity)
	if err != nil {
		return nil, err
	}
	// A ticket without a queue counts in its bucket's all-queues point.
	points = slices.DeleteFunc(points, func(p ServiceKpiPoint) bool { return p.PerQueue && p.Queue == "" })
	for i := range points {
		p := &points[i]
		if ended := p.SLAMet + p.SLABreached; ended > 0 {
			p.SLACompliancePercent = 100 * float64(p.SLAMet) / float64(ended)
		}
		if customers > 0 {
			p.ComplaintsPerThousand = 1000 * float64(p.Complaints) / float64(customers)
		}
	}
	return &ServiceKpis{Start: q.Start, End: q.End, Points: points}, nil
}

// funnelStages are the lifecycle stages in funnel order.
var funnelStages = []string{"PROSPECT", "FIRST_PURCHASE", "REPEAT", "LOYAL", "AT_RISK", "CHURNED"}

// FunnelRow is one stage's entries in one of the two periods.
type FunnelRow struct {
	Previous          bool
	Stage             string
	Entered           int64
	Converted         int64
	MedianTimeInStage time.Duration
}

// FunnelFlow is what became of a stage's entries in a period.
type FunnelFlow struct {
	Entered, Converted, Dropped       int64
	ConversionPercent, DropOffPercent float64
	MedianTimeInStage                 time.Duration
}

// FunnelStage is one stage of the funnel.
type FunnelStage struct {
	Stage             string
	CustomersAtEnd    int64
	Current, Previous FunnelFlow
}

// LifecycleFunnel is the lifecycle funnel dashboard.
type LifecycleFunnel struct {
	Start, End, PreviousStart time.Time
	Stages                    []FunnelStage
}

// GetLifecycleFunnel answers the lifecycle funnel dashboard, next to the
// period of as many months before.
func (s *Service) GetLifecycleFunnel(ctx context.Context, in DashboardRequest) (*LifecycleFunnel, error) {
	q, err := s.monthsQuery(ctx, in)
	if err != nil {
		return nil, err
	}
	months := (q.End.Year()-q.Start.Year())*12 + int(q.End.Month()) - int(q.Start.Month())
	previousStart := q.Start.AddDate(0, -months, 0)
	rows, atEnd, err := s.store.FunnelFlows(ctx, q, previousStart)
	if err != nil {
		return nil, err
	}
	out := &LifecycleFunnel{Start: q.Start, End: q.End, PreviousStart: previousStart}
	for _, stage := range funnelStages {
		fs := FunnelStage{Stage: stage, CustomersAtEnd: atEnd[stage]}
		for _, r := range rows {
			if r.Stage != stage {
				continue
			}
			flow := FunnelFlow{Entered: r.Entered, Converted: r.Converted, Dropped: r.Entered - r.Converted, MedianTimeInStage: r.MedianTimeInStage}
			if r.Entered > 0 {
				flow.ConversionPercent = 100 * float64(r.Converted) / float64(r.Entered)
				flow.DropOffPercent = 100 - flow.ConversionPercent
			}
			if r.Previous {
				fs.Previous = flow
			} else {
				fs.Current = flow
			}
		}
		out.Stages = append(out.Stages, fs)
	}
	return out, nil
}

// FollowUpCounts are one assignee's or care rule's follow-ups due in a
// period, by state.
type FollowUpCounts struct {
	Key                                        string
	Due, Completed, Missed, Cancelled, Planned int64
	CompletionPercent                          float64
}

// CareAndFollowUp is the care and follow-up dashboard.
type CareAndFollowUp struct {
	Start, End time.Time
	Assignees  []FollowUpCounts
	CareRules  []FollowUpCounts
}

// GetCareAndFollowUp answers the care and follow-up dashboard.
func (s *Service) GetCareAndFollowUp(ctx context.Context, in DashboardRequest) (*CareAndFollowUp, error) {
	q, err := s.dashboardQuery(ctx, in)
	if err != nil {
		return nil, err
	}
	assignees, rules, err := s.store.FollowUpCounts(ctx, q)
	if err != nil {
		return nil, err
	}
	for _, list := range [][]FollowUpCounts{assignees, rules} {
		for i := range list {
			if n := list[i].Due - list[i].Cancelled; n > 0 {
				list[i].CompletionPercent = 100 * float64(list[i].Completed) / float64(n)
			}
		}
	}
	return &CareAndFollowUp{Start: q.Start, End: q.End, Assignees: assignees, CareRules: rules}, nil
}
