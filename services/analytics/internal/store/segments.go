package store

import (
	"context"
	"errors"
	"fmt"
	"time"

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
	"birthday_this_month":      {Column: "f.birthday_this_month", Type: filter.Bool},
	"needs":                    {Column: "f.needs", Type: filter.StringArray},
	"price_sensitivity":        {Column: "f.price_sensitivity", Type: filter.Enum, Enum: filter.EnumValues("PRICE_SENSITIVITY_", "PRICE", "BALANCED", "QUALITY")},
}

// personalFields are the fields over personal data: a segment whose filter
// names one is personal, hidden from masked callers, who may not learn the
// data one segment at a time.
var personalFields = []string{"birthday_this_month"}

// personal reports whether filter f (valid) names a personal field: it
// would not compile without them.
func personal(f string) bool {
	_, err := filter.Compile(f, factFields.Without(personalFields...), 0)
	return err != nil
}

// CheckFilter implements insight.Store.
func (s *Store) CheckFilter(f string) error {
	if f == "" {
		return errs.InvalidField("filter", "is required: a segment of everyone is no segment")
	}
	_, err := filter.Compile(f, factFields, 0)
	return err
}

const segmentColumns = `s.id, s.display_name, s.description, s.filter, s.builtin, s.personal, s.revision, s.create_time, s.update_time,
	(SELECT count(*) FROM memberships m WHERE m.segment_id = s.id)`

func scanSegment(row pgx.Row) (*insight.Segment, error) {
	var g insight.Segment
	err := row.Scan(&g.ID, &g.DisplayName, &g.Description, &g.Filter, &g.Builtin, &g.Personal, &g.Revision, &g.CreateTime, &g.UpdateTime, &g.Members)
	g.CreateTime, g.UpdateTime = g.CreateTime.UTC(), g.UpdateTime.UTC()
	return &g, err
}

// GetSegment implements insight.Store.
func (s *Store) GetSegment(ctx context.Context, id string) (*insight.Segment, error) {
	return pg.One(s.pool.QueryRow(ctx, `SELECT `+segmentColumns+` FROM segments s WHERE s.id = $1`, id), scanSegment, insight.SegmentName(id))
}

// ListSegments implements insight.Store.
func (s *Store) ListSegments(ctx context.Context, after string, limit int, withPersonal bool) ([]*insight.Segment, error) {
	rows, err := s.pool.Query(ctx, `SELECT `+segmentColumns+` FROM segments s WHERE s.id > $1 AND ($3 OR NOT s.personal)
		ORDER BY s.id LIMIT $2`, after, limit, withPersonal)
	return pg.Collect(rows, err, scanSegment)
}

// Membership implements insight.Store: one round trip.
func (s *Store) Membership(ctx context.Context, id string) (insight.Membership, error) {
	ms, err := s.Memberships(ctx, []string{id})
	return ms[id], err
}

// Memberships implements insight.Store: one round trip for all of ids.
func (s *Store) Memberships(ctx context.Context, ids []string) (map[string]insight.Membership, error) {
	rows, err := s.pool.Query(ctx, `SELECT u.id::text, c.account_manager,
			coalesce(array_agg(m.segment_id ORDER BY m.segment_id) FILTER (WHERE m.segment_id IS NOT NULL), '{}'),
			coalesce(array_agg(m.segment_id ORDER BY m.segment_id) FILTER (WHERE g.personal), '{}')
		FROM (SELECT DISTINCT unnest($1::uuid[]) AS id) u
		LEFT JOIN customers c ON c.id = u.id AND NOT c.deleted
		LEFT JOIN memberships m ON m.customer_id = c.id
		LEFT JOIN segments g ON g.id = m.segment_id
		GROUP BY u.id, c.account_manager`, ids)
	if err != nil {
		return nil, pg.Classify(err)
	}
	out := make(map[string]insight.Membership, len(ids))
	var (
		id       string
		manager  *string
		segments []string
		personal []string
	)
	_, err = pgx.ForEachRow(rows, []any{&id, &manager, &segments, &personal}, func() error {
		m := insight.Membership{}
		if manager != nil {
			m = insight.Membership{Known: true, AccountManager: *manager, Segments: segments, Personal: personal}
		}
		out[id] = m
		segments, personal = nil, nil // the next row scans into fresh slices
		return nil
	})
	return out, pg.Classify(err)
}

// RecordSegmentSizes implements insight.Store: today's sizes of every
// segment, replacing earlier measurements of the day.
func (s *Store) RecordSegmentSizes(ctx context.Context) error {
	_, err := s.pool.Exec(ctx, `INSERT INTO segment_sizes (segment_id, day, member_count)
		SELECT g.id, (now() AT TIME ZONE 'UTC')::date, (SELECT count(*) FROM memberships m WHERE m.segment_id = g.id) FROM segments g
		ON CONFLICT (segment_id, day) DO UPDATE SET member_count = excluded.member_count`)
	return pg.Classify(err)
}

// SegmentSizes implements insight.Store.
func (s *Store) SegmentSizes(ctx context.Context, id string, before time.Time, limit int) ([]insight.SegmentSize, error) {
	rows, err := s.pool.Query(ctx, `SELECT day, member_count FROM segment_sizes WHERE segment_id = $1 AND day < $2
		ORDER BY day DESC LIMIT $3`, id, before, limit)
	return pg.Collect(rows, err, func(r pgx.Row) (insight.SegmentSize, error) {
		var z insight.SegmentSize
		return z, r.Scan(&z.Date, &z.Members)
	})
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
	_, err := t.tx.Exec(ctx, `INSERT INTO segments (id, display_name, description, filter, personal) VALUES ($1, $2, $3, $4, $5)`,
		g.ID, g.DisplayName, g.Description, g.Filter, personal(g.Filter))
	if pg.ConstraintName(err) == "segments_pkey" {
		return errs.AlreadyExists("SEGMENT_EXISTS", "%s already exists", insight.SegmentName(g.ID))
	}
	return pg.Classify(err)
}

func (t *tx) UpdateSegment(ctx context.Context, g *insight.Segment, revision int64) ([]string, error) {
	var was, is bool
	err := t.tx.QueryRow(ctx, `UPDATE segments SET display_name = $2, description = $3, filter = $4, revision = $5, update_time = now(),
		personal = $7 WHERE id = $1 AND revision = $6 RETURNING (SELECT personal FROM segments WHERE id = $1), personal`,
		g.ID, g.DisplayName, g.Description, g.Filter, g.Revision, revision, personal(g.Filter)).Scan(&was, &is)
	if errors.Is(err, pgx.ErrNoRows) {
		return nil, errs.EtagMismatch(insight.SegmentName(g.ID))
	}
	if err != nil || was == is {
		return nil, pg.Classify(err)
	}
	// Whether the segment is personal is part of its members' cached
	// answers: all of them must go.
	rows, err := t.tx.Query(ctx, `SELECT customer_id::text FROM memberships WHERE segment_id = $1`, g.ID)
	return pg.Collect(rows, err, func(r pgx.Row) (string, error) {
		var c string
		return c, r.Scan(&c)
	})
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
	sql, args, err := evaluation("customer_facts", id, f)
	if err != nil {
		return nil, err
	}
	rows, err := t.tx.Query(ctx, sql+` SELECT customer_id::text, false FROM gone UNION ALL SELECT customer_id::text, true FROM came`, args...)
	return pg.Collect(rows, err, func(r pgx.Row) (insight.Change, error) {
		c := insight.Change{SegmentID: id}
		return c, r.Scan(&c.CustomerID, &c.Entered)
	})
}

// evaluation is the start of a statement bringing segment id's members in
// line with filter f over the facts in relation facts: CTEs gone and came
// name who left and who entered ($1 is the segment).
func evaluation(facts, id, f string) (string, []any, error) {
	cl, err := filter.Compile(f, factFields, 1)
	if err != nil {
		return "", nil, errs.Internal(fmt.Errorf("segment %s: %w", id, err))
	}
	// The differences are set operations, each side read once: as an
	// anti-join, planned while the memberships still looked empty (they
	// grow within a whole-model pass, before any statistics), it rescanned
	// the rows the statement was inserting for each wanted customer.
	return fmt.Sprintf(`
		WITH want AS (SELECT f.customer_id FROM %s f WHERE %s),
		had AS (SELECT m.customer_id FROM memberships m WHERE m.segment_id = $1),
		gone AS (DELETE FROM memberships m USING (SELECT customer_id FROM had EXCEPT SELECT customer_id FROM want) x
		         WHERE m.segment_id = $1 AND m.customer_id = x.customer_id RETURNING m.customer_id),
		came AS (INSERT INTO memberships (segment_id, customer_id)
		         SELECT $1, customer_id FROM (SELECT customer_id FROM want EXCEPT SELECT customer_id FROM had) x
		         ON CONFLICT DO NOTHING RETURNING customer_id)`, facts, cl.SQL), append([]any{id}, cl.Args...), nil
}

// EvaluateAllSegments implements insight.Tx: everyone's facts are
// computed once, set-based (customer_facts_all), into a temporary table
// every segment is evaluated against; the changes go to another, read
// back a page at a time so that memory stays bounded.
func (t *tx) EvaluateAllSegments(ctx context.Context, page int, each func([]insight.Change) error) error {
	rows, err := t.tx.Query(ctx, `SELECT id, filter FROM segments ORDER BY id`)
	type segment struct{ id, filter string }
	segments, err := pg.Collect(rows, err, func(r pgx.Row) (segment, error) {
		var g segment
		return g, r.Scan(&g.id, &g.filter)
	})
	if err != nil {
		return err
	}
	if err := wholeModel(ctx, t.tx); err != nil {
		return err
	}
	for _, sql := range []string{
		`CREATE TEMPORARY TABLE facts_now ON COMMIT DROP AS SELECT * FROM customer_facts_all`,
		`ANALYZE facts_now`,
		`CREATE TEMPORARY TABLE membership_changes (n bigserial PRIMARY KEY, customer_id uuid NOT NULL, segment_id text NOT NULL,
			entered boolean NOT NULL) ON COMMIT DROP`,
	} {
		if _, err := t.tx.Exec(ctx, sql); err != nil {
			return pg.Classify(err)
		}
	}
	for _, g := range segments {
		sql, args, err := evaluation("facts_now", g.id, g.filter)
		if err != nil {
			return err
		}
		if _, err := t.tx.Exec(ctx, sql+` INSERT INTO membership_changes (customer_id, segment_id, entered)
			SELECT customer_id, $1, false FROM gone UNION ALL SELECT customer_id, $1, true FROM came`, args...); err != nil {
			return pg.Classify(err)
		}
	}
	for after := int64(0); ; {
		rows, err := t.tx.Query(ctx, `SELECT n, customer_id::text, segment_id, entered FROM membership_changes WHERE n > $1 ORDER BY n LIMIT $2`, after, page)
		if err != nil {
			return pg.Classify(err)
		}
		var changes []insight.Change
		var c insight.Change
		if _, err := pgx.ForEachRow(rows, []any{&after, &c.CustomerID, &c.SegmentID, &c.Entered}, func() error {
			changes = append(changes, c)
			return nil
		}); err != nil {
			return pg.Classify(err)
		}
		if len(changes) > 0 {
			if err := each(changes); err != nil {
				return err
			}
		}
		if len(changes) < page {
			_, err := t.tx.Exec(ctx, `DROP TABLE facts_now, membership_changes`)
			return pg.Classify(err)
		}
	}
}

// EvaluateCustomers implements insight.Tx in one statement whatever the
// number of customers: each segment's filter over the customers' rows,
// against their memberships. Only the segments' filters are read (not
// their member counts, which cost a scan per segment).
func (t *tx) EvaluateCustomers(ctx context.Context, customerIDs []string) ([]insight.Change, error) {
	if len(customerIDs) == 0 {
		return nil, nil
	}
	rows, err := t.tx.Query(ctx, `SELECT id, filter FROM segments ORDER BY id`)
	type segment struct{ id, filter string }
	segments, err := pg.Collect(rows, err, func(r pgx.Row) (segment, error) {
		var g segment
		return g, r.Scan(&g.id, &g.filter)
	})
	if err != nil || len(segments) == 0 {
		return nil, err
	}
	args := []any{customerIDs}
	var union string
	for n, g := range segments {
		cl, err := filter.Compile(g.filter, factFields, len(args))
		if err != nil {
			return nil, errs.Internal(fmt.Errorf("segment %s: %w", g.id, err))
		}
		args = append(args, cl.Args...)
		args = append(args, g.id)
		if n > 0 {
			union += " UNION ALL "
		}
		union += fmt.Sprintf("SELECT f.customer_id, $%d::text AS segment_id FROM customer_facts f WHERE f.customer_id = ANY($1::uuid[]) AND (%s)", len(args), cl.SQL)
	}
	rows, err = t.tx.Query(ctx, `
		WITH want AS (`+union+`),
		gone AS (DELETE FROM memberships m WHERE m.customer_id = ANY($1::uuid[])
		         AND NOT EXISTS (SELECT 1 FROM want w WHERE w.customer_id = m.customer_id AND w.segment_id = m.segment_id)
		         RETURNING m.customer_id, m.segment_id),
		came AS (INSERT INTO memberships (segment_id, customer_id) SELECT w.segment_id, w.customer_id FROM want w
		         ON CONFLICT DO NOTHING RETURNING customer_id, segment_id)
		SELECT customer_id::text, segment_id, false FROM gone UNION ALL SELECT customer_id::text, segment_id, true FROM came
		ORDER BY 1, 2`, args...)
	return pg.Collect(rows, err, func(r pgx.Row) (insight.Change, error) {
		var c insight.Change
		return c, r.Scan(&c.CustomerID, &c.SegmentID, &c.Entered)
	})
}
