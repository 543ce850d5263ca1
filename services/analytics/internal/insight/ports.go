package insight

import (
	"context"
	"time"

	"github.com/kehu-crm/kehu/pkg/event"
)

// Store is the persistence the domain needs.
type Store interface {
	InTx(ctx context.Context, fn func(ctx context.Context, tx Tx) error) error
	Cursor(ctx context.Context, source string) (int64, error)
	// Facts computes a customer's facts as of now; NOT_FOUND for a
	// customer the read model does not know.
	Facts(ctx context.Context, customerID string, now time.Time) (*Facts, error)
	// Scores returns the customer's latest scores (zero Scores if none).
	Scores(ctx context.Context, customerID string) (Scores, error)
	// Trend returns the spend in the scoring currency over the 90 days to
	// now and the 90 days before.
	Trend(ctx context.Context, customerID, currency string, now time.Time) (last, previous string, err error)
	// FactsMany, ScoresMany and Trends are Facts, Scores and Trend for
	// many customers at once (customers the read model does not know are
	// absent from FactsMany; ScoresMany and Trends answer every id).
	FactsMany(ctx context.Context, customerIDs []string, now time.Time) (map[string]*Facts, error)
	ScoresMany(ctx context.Context, customerIDs []string) (map[string]Scores, error)
	Trends(ctx context.Context, customerIDs []string, currency string, now time.Time) (map[string]Spend, error)
	// Recompute scores every customer with set-based SQL (RFM quintiles
	// among customers active in the 12 months to now, ABC on 12-month
	// contribution) and returns how many it scored.
	Recompute(ctx context.Context, p ScoringParams) (int64, error)

	// ProposeMany records the stage change each customer's facts call for
	// (replacing an earlier proposal), or drops it when Stage is "".
	ProposeMany(ctx context.Context, ps []Proposal) error
	// Proposals returns up to limit proposals, oldest first; Withdraw
	// drops one once delivered, unless a newer one replaced it.
	Proposals(ctx context.Context, limit int) ([]Proposal, error)
	Withdraw(ctx context.Context, p Proposal) error
	// ProposeTiers records, set-based, the value tier of every customer
	// whose scored ABC tier differs from their record's; TierProposals and
	// WithdrawTier deliver them like stage proposals.
	ProposeTiers(ctx context.Context, p ScoringParams) (int64, error)
	TierProposals(ctx context.Context, limit int) ([]TierProposal, error)
	WithdrawTier(ctx context.Context, p TierProposal) error
	// AtRisk pages the warned customers (of manager, or all with "") by
	// value at risk, highest first.
	AtRisk(ctx context.Context, manager string, after Cursor, limit int) ([]Churn, error)
	// RetentionVisits returns up to limit owed retention visits;
	// ForgetRetentionVisit drops one once planned.
	RetentionVisits(ctx context.Context, limit int) ([]RetentionVisit, error)
	ForgetRetentionVisit(ctx context.Context, v RetentionVisit) error
	// Buyers pages, by id, the live customers with a purchase;
	// CustomerIDs all customers the read model knows.
	Buyers(ctx context.Context, afterID string, limit int) ([]string, error)
	CustomerIDs(ctx context.Context, afterID string, limit int) ([]string, error)

	// ValueDistribution computes a period's Pareto curve and ABC tiers per
	// currency; RfmCells its R × F grid in one currency.
	ValueDistribution(ctx context.Context, q DashboardQuery, shareA, shareB float64) ([]CurrencyDistribution, error)
	RfmCells(ctx context.Context, q DashboardQuery, currency string) ([]RfmCell, error)
	// CohortMonths counts, per cohort (month of first purchase) of the
	// period and month offset, the cohort's customers who bought.
	// CohortMonths, JourneyCells and FunnelFlows take periods of whole UTC
	// months (q.Start, q.End and previousStart are a month's first
	// instant).
	CohortMonths(ctx context.Context, q DashboardQuery) ([]CohortCount, error)
	// JourneyCells computes the journey map's stage × touchpoint cells.
	JourneyCells(ctx context.Context, q DashboardQuery) ([]JourneyCell, error)
	// ServiceKpis computes the service desk's indicators per bucket
	// ("week" or "month") and queue, and counts the customers in scope.
	ServiceKpis(ctx context.Context, q DashboardQuery, granularity string) ([]ServiceKpiPoint, int64, error)
	// FunnelFlows computes the entries into each stage in the period and
	// the one before it, and the customers in each stage at the end.
	FunnelFlows(ctx context.Context, q DashboardQuery, previousStart time.Time) ([]FunnelRow, map[string]int64, error)
	// FollowUpCounts counts the follow-ups due in the period by state, per
	// assignee and per care rule.
	FollowUpCounts(ctx context.Context, q DashboardQuery) (assignees, careRules []FollowUpCounts, err error)

	// Reports: InsertReport, GetReport (with its latest result),
	// ListReports (without), DeleteReport at a revision, DueReports the
	// reports whose next run is at or before now.
	InsertReport(ctx context.Context, r *Report) error
	GetReport(ctx context.Context, id string) (*Report, error)
	ListReports(ctx context.Context, afterID string, limit int) ([]*Report, error)
	DeleteReport(ctx context.Context, id string, revision int64) error
	DueReports(ctx context.Context, now time.Time, limit int) ([]string, error)
	// Reschedule moves a report's next run without running it.
	Reschedule(ctx context.Context, id string, next time.Time) error

	// CheckFilter compiles a segment filter without running it.
	CheckFilter(filter string) error
	GetSegment(ctx context.Context, id string) (*Segment, error)
	// ListSegments pages segments by id, personal ones only withPersonal.
	ListSegments(ctx context.Context, afterID string, limit int, withPersonal bool) ([]*Segment, error)
	// Membership reads a customer's segments (Known false for a customer
	// the read model does not have); Memberships reads many at once.
	Membership(ctx context.Context, customerID string) (Membership, error)
	Memberships(ctx context.Context, customerIDs []string) (map[string]Membership, error)
	// RecordSegmentSizes measures every segment's size for today;
	// SegmentSizes pages one segment's daily sizes before a day, newest
	// first.
	RecordSegmentSizes(ctx context.Context) error
	SegmentSizes(ctx context.Context, segmentID string, before time.Time, limit int) ([]SegmentSize, error)
	// ListMembers pages a segment's members by id; scope, when set, keeps
	// the customers it manages and the unassigned.
	ListMembers(ctx context.Context, segmentID, scope, afterID string, limit int) ([]string, error)
}

// Tx is what applying an event may do, in one transaction with the
// source's cursor.
type Tx interface {
	Cursor(ctx context.Context, source string) (int64, error)
	SetCursor(ctx context.Context, source string, sequence int64) error
	// UpsertCustomers records customers in one statement; of several
	// states of one customer the last is kept.
	UpsertCustomers(ctx context.Context, cs []*Customer) error
	// RecordTransitions keeps stage changes for the journey map.
	RecordTransitions(ctx context.Context, ts []Transition) error
	// SetStage records a stage change; manual marks one a person made.
	SetStage(ctx context.Context, customerID, stage string, manual bool, at time.Time) error
	UpsertRecord(ctx context.Context, r *Record) error
	UpsertTicket(ctx context.Context, t *Ticket) error
	UpsertAnswer(ctx context.Context, a *Answer) error
	UpsertFollowUp(ctx context.Context, f *FollowUp) error
	// MergeCustomers re-points everything of the merged customers to the
	// survivor.
	MergeCustomers(ctx context.Context, survivorID string, mergedIDs []string) error
	// UnmergeCustomer moves the records a merge took from restoredID back
	// to it.
	UnmergeCustomer(ctx context.Context, survivorID, restoredID string) error
	// LockCustomers serialises transactions that change and re-evaluate
	// the same customers; LockEvaluation excludes them all while the whole
	// model is evaluated. Without them, two streams' events for one
	// customer, applied at once, would each evaluate without the other's
	// change and leave memberships that match neither.
	LockCustomers(ctx context.Context, customerIDs []string) error
	LockEvaluation(ctx context.Context) error
	// SaveRun keeps a report's result and schedules its next run.
	SaveRun(ctx context.Context, reportID string, at, next time.Time, result []byte) error
	// ResetSource forgets what source contributed, before a resync
	// applies its snapshot.
	ResetSource(ctx context.Context, source string) error
	// EraseCustomer deletes everything about a purged customer.
	EraseCustomer(ctx context.Context, customerID string) error
	// RollupsBefore notes what the customers, and the current owners of
	// the records, contribute to the dashboards' rollups before a batch
	// changes them, and returns them all; RollupsAfter, given those, adds
	// the difference to the rollups once the batch changed them. Every
	// change to what the rollups read (records, stage changes, customers)
	// between the two must be of those customers. RebuildRollups
	// recomputes the rollups from the read model.
	RollupsBefore(ctx context.Context, customerIDs, recordIDs []string) ([]string, error)
	RollupsAfter(ctx context.Context, customerIDs []string) error
	RebuildRollups(ctx context.Context) error

	// SetChurns records customers' churn risks (one each); over[i] says
	// whether cs[i] is over the threshold. crossed[i] reports whether that
	// is a new crossing (the customer was not warned since they were last
	// under it).
	SetChurns(ctx context.Context, cs []Churn, over []bool, at time.Time) (crossed []bool, err error)

	OweRetentionVisit(ctx context.Context, v RetentionVisit) error

	InsertSegment(ctx context.Context, s *Segment) error
	// UpdateSegment stores s if the stored revision is still revision
	// (ABORTED otherwise).
	// UpdateSegment changes a segment and returns its members when
	// whether it is personal changed (their cached answers must go).
	UpdateSegment(ctx context.Context, s *Segment, revision int64) ([]string, error)
	// DeleteSegment deletes a segment and returns its members.
	DeleteSegment(ctx context.Context, id string) ([]string, error)
	// EvaluateSegment brings a segment's members in line with its filter
	// in one set-based statement and returns who entered and left.
	EvaluateSegment(ctx context.Context, id, filter string) ([]Change, error)
	// EvaluateAllSegments brings every segment's members in line with its
	// filter, over one snapshot of everyone's facts, and passes the
	// changes to each at most page at a time, by segment.
	EvaluateAllSegments(ctx context.Context, page int, each func([]Change) error) error
	// EvaluateCustomers brings the customers' memberships in line with
	// every segment's filter and returns the changes.
	EvaluateCustomers(ctx context.Context, customerIDs []string) ([]Change, error)
	// Segments returns every segment.
	Segments(ctx context.Context) ([]*Segment, error)

	// Emit writes events to the outbox.
	Emit(ctx context.Context, events ...event.Event) error
}

// ScoringParams are the inputs of a scoring pass.
type ScoringParams struct {
	Now      time.Time
	Currency string
	// ABC thresholds: A holds the customers making the first ShareA of
	// 12-month revenue, B the next up to ShareB, C the rest.
	ShareA, ShareB float64
}
