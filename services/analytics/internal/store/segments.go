package store

import (
	"context"
	"fmt"

	"github.com/jackc/pgx/v5"

	"github.com/kehu-crm/kehu/pkg/errs"
	"github.com/kehu-crm/kehu/pkg/filter"
	"github.com/kehu-crm/kehu/pkg/pg"
	"github.com/kehu-crm/kehu/services/analytics/internal/insight"
)

var tiers = filter.EnumValues("VALUE_TIER_", "A", "B", "C")

// factFields is the allow-list of segment filters, over customer_facts f.
var factFields = filter.Schema{
	"lifecycle_stage":          {Column: "f.lifecycle_stage", Type: filter.Enum, Enum: filter.EnumValues("LIFECYCLE_STAGE_", "PROSPECT", "FIRST_PURCHASE", "REPEAT", "LOYAL", "AT_RISK", "CHURNED")},
	"value_tier":               {Column: "f.value_tier", Type: filter.Enum, Enum: tiers},
	"abc":                      {Column: "f.abc", Type: filter.Enum, Enum: tiers},
	"account_manager":          {Column: "f.account_manager", Type: filter.String},
	"loyalty_points":           {Column: "f.loyalty_points", Type: filter.Int},
	"recency":                  {Column: "f.recency", Type: filter.Int},
	"frequency":                {Column: "f.frequency", Type: filter.Int},
	"monetary":                 {Column: "f.monetary", Type: filter.Int},
	"days_since_last_purchase": {Column: "f.days_since_last_purchase", Type: filter.Int},
	"purchases_90d":            {Column: "f.purchases_90d", Type: filter.Int},
	"purchases_12m":            {Column: "f.purchases_12m", Type: filter.Int},
	"purchases_lifetime":       {Column: "f.purchases_lifetime", Type: filter.Int},
	"open_tickets":             {Column: "f.open_tickets", Type: filter.Int},
	"complaints_90d":           {Column: "f.complaints_90d", Type: filter.Int},
	"average_csat":             {Column: "f.average_csat", Type: filter.Decimal},
	"last_nps":                 {Column: "f.last_nps", Type: filter.Int},
}

// CheckFilter implements insight.Store.
func (s *Store) CheckFilter(f string) error {
	if f == "" {
		return errs.InvalidField("filter", "is required: a segment of everyone is no segment")
	}
	_, err := filter.Compile(f, factFields, 0)
	return err
}

const segmentColumns = `s.id, s.display_name, s.description, s.filter, s.builtin, s.revision, s.create_time, s.update_time,
	(SELECT count(*) FROM memberships m WHERE m.segment_id = s.id)`

func scanSegment(row pgx.Row) (*insight.Segment, error) {
	var g insight.Segment
	err := row.Scan(&g.ID, &g.DisplayName, &g.Description, &g.Filter, &g.Builtin, &g.Revision, &g.CreateTime, &g.UpdateTime, &g.Members)
	g.CreateTime, g.UpdateTime = g.CreateTime.UTC(), g.UpdateTime.UTC()
	return &g, err
}

// GetSegment implements insight.Store.
func (s *Store) GetSegment(ctx context.Context, id string) (*insight.Segment, error) {
	return pg.One(s.pool.QueryRow(ctx, `SELECT `+segmentColumns+` FROM segments s WHERE s.id = $1`, id), scanSegment, insight.SegmentName(id))
}

// ListSegments implements insight.Store.
func (s *Store) ListSegments(ctx context.Context, after string, limit int) ([]*insight.Segment, error) {
	rows, err := s.pool.Query(ctx, `SELECT `+segmentColumns+` FROM segments s WHERE s.id > $1 ORDER BY s.id LIMIT $2`, after, limit)
	return pg.Collect(rows, err, scanSegment)
}

// Membership implements insight.Store: one round trip.
func (s *Store) Membership(ctx context.Context, id string) (insight.Membership, error) {
	var (
		m        insight.Membership
		manager  *string
		segments []string
	)
	err := s.pool.QueryRow(ctx, `SELECT (SELECT account_manager FROM customers WHERE id = $1 AND NOT deleted),
		coalesce((SELECT array_agg(segment_id ORDER BY segment_id) FROM memberships WHERE customer_id = $1), '{}')`, id).Scan(&manager, &segments)
	if err != nil {
		return m, pg.Classify(err)
	}
	if manager != nil {
		m.Known, m.AccountManager, m.Segments = true, *manager, segments
	}
	return m, nil
}

// ListMembers implements insight.Store.
func (s *Store) ListMembers(ctx context.Context, segmentID, scope, after string, limit int) ([]string, error) {
	w := &filter.Where{}
	w.Add("m.segment_id = %s", segmentID)
	if after != "" {
		w.Add("m.customer_id > %s::uuid", after)
	}
	if scope != "" {
		w.Add("EXISTS (SELECT 1 FROM customers c WHERE c.id = m.customer_id AND c.account_manager IN ('', %s))", scope)
	}
	rows, err := s.pool.Query(ctx, `SELECT m.customer_id::text FROM memberships m WHERE `+w.SQL()+
		` ORDER BY m.customer_id LIMIT `+w.Arg(limit), w.Args()...)
	return pg.Collect(rows, err, func(r pgx.Row) (string, error) {
		var id string
		return id, r.Scan(&id)
	})
}

func (t *tx) InsertSegment(ctx context.Context, g *insight.Segment) error {
	_, err := t.tx.Exec(ctx, `INSERT INTO segments (id, display_name, description, filter) VALUES ($1, $2, $3, $4)`,
		g.ID, g.DisplayName, g.Description, g.Filter)
	if pg.ConstraintName(err) == "segments_pkey" {
		return errs.AlreadyExists("SEGMENT_EXISTS", "%s already exists", insight.SegmentName(g.ID))
	}
	return pg.Classify(err)
}

func (t *tx) UpdateSegment(ctx context.Context, g *insight.Segment, revision int64) error {
	tag, err := t.tx.Exec(ctx, `UPDATE segments SET display_name = $2, description = $3, filter = $4, revision = $5, update_time = now()
		WHERE id = $1 AND revision = $6`, g.ID, g.DisplayName, g.Description, g.Filter, g.Revision, revision)
	if err == nil && tag.RowsAffected() == 0 {
		return errs.EtagMismatch(insight.SegmentName(g.ID))
	}
	return pg.Classify(err)
}

func (t *tx) DeleteSegment(ctx context.Context, id string) ([]string, error) {
	rows, err := t.tx.Query(ctx, `WITH gone AS (DELETE FROM memberships WHERE segment_id = $1 RETURNING customer_id)
		SELECT customer_id::text FROM gone`, id)
	members, err := pg.Collect(rows, err, func(r pgx.Row) (string, error) {
		var c string
		return c, r.Scan(&c)
	})
	if err != nil {
		return nil, err
	}
	_, err = t.tx.Exec(ctx, `DELETE FROM segments WHERE id = $1`, id)
	return members, pg.Classify(err)
}

func (t *tx) Segments(ctx context.Context) ([]*insight.Segment, error) {
	rows, err := t.tx.Query(ctx, `SELECT `+segmentColumns+` FROM segments s ORDER BY s.id`)
	return pg.Collect(rows, err, scanSegment)
}

// EvaluateSegment implements insight.Tx in one statement: who the filter
// selects now against who is a member.
func (t *tx) EvaluateSegment(ctx context.Context, id, f string) ([]insight.Change, error) {
	cl, err := filter.Compile(f, factFields, 1)
	if err != nil {
		return nil, err
	}
	rows, err := t.tx.Query(ctx, fmt.Sprintf(`
		WITH want AS (SELECT f.customer_id FROM customer_facts f WHERE %s),
		gone AS (DELETE FROM memberships m WHERE m.segment_id = $1
		         AND NOT EXISTS (SELECT 1 FROM want w WHERE w.customer_id = m.customer_id) RETURNING m.customer_id),
		came AS (INSERT INTO memberships (segment_id, customer_id) SELECT $1, customer_id FROM want
		         ON CONFLICT DO NOTHING RETURNING customer_id)
		SELECT customer_id::text, false FROM gone UNION ALL SELECT customer_id::text, true FROM came`, cl.SQL),
		append([]any{id}, cl.Args...)...)
	return pg.Collect(rows, err, func(r pgx.Row) (insight.Change, error) {
		c := insight.Change{SegmentID: id}
		return c, r.Scan(&c.CustomerID, &c.Entered)
	})
}

// EvaluateCustomer implements insight.Tx: each segment's filter over the
// customer's row, in one round trip, against the customer's memberships.
func (t *tx) EvaluateCustomer(ctx context.Context, customerID string) ([]insight.Change, error) {
	segments, err := t.Segments(ctx)
	if err != nil || len(segments) == 0 {
		return nil, err
	}
	args := []any{customerID}
	var union string
	for n, g := range segments {
		cl, err := filter.Compile(g.Filter, factFields, len(args))
		if err != nil {
			return nil, errs.Internal(fmt.Errorf("segment %s: %w", g.ID, err))
		}
		args = append(args, cl.Args...)
		args = append(args, g.ID)
		if n > 0 {
			union += " UNION ALL "
		}
		union += fmt.Sprintf("SELECT $%d::text AS segment_id FROM customer_facts f WHERE f.customer_id = $1 AND (%s)", len(args), cl.SQL)
	}
	rows, err := t.tx.Query(ctx, `
		WITH want AS (`+union+`),
		gone AS (DELETE FROM memberships m WHERE m.customer_id = $1
		         AND NOT EXISTS (SELECT 1 FROM want w WHERE w.segment_id = m.segment_id) RETURNING m.segment_id),
		came AS (INSERT INTO memberships (segment_id, customer_id) SELECT w.segment_id, $1 FROM want w
		         ON CONFLICT DO NOTHING RETURNING segment_id)
		SELECT segment_id, false FROM gone UNION ALL SELECT segment_id, true FROM came`, args...)
	return pg.Collect(rows, err, func(r pgx.Row) (insight.Change, error) {
		c := insight.Change{CustomerID: customerID}
		return c, r.Scan(&c.SegmentID, &c.Entered)
	})
}
