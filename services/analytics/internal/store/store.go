// Package store implements the analytics domain's Store on PostgreSQL
// with pgx: the read model, the facts of one customer as set-based
// aggregates, and the scoring pass. It is the only package of the service
// that speaks SQL.
package store

import (
	"context"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/kehu-crm/kehu/pkg/errs"
	"github.com/kehu-crm/kehu/pkg/filter"
	"github.com/kehu-crm/kehu/pkg/follow/cursor"
	"github.com/kehu-crm/kehu/pkg/outbox"
	"github.com/kehu-crm/kehu/pkg/pg"
	"github.com/kehu-crm/kehu/services/analytics/internal/insight"
)

// Store is the PostgreSQL implementation of insight.Store.
type Store struct {
	pool  *pgxpool.Pool
	codec outbox.Codec
}

var _ insight.Store = (*Store)(nil)

// New returns a Store on a pool whose search_path is the analytics schema.
func New(pool *pgxpool.Pool, codec outbox.Codec) *Store { return &Store{pool: pool, codec: codec} }

// InTx implements insight.Store.
func (s *Store) InTx(ctx context.Context, fn func(ctx context.Context, tx insight.Tx) error) error {
	return pg.InTx(ctx, s.pool, pgx.ReadCommitted, func(t pgx.Tx) error {
		return fn(ctx, &tx{Emitter: outbox.Emitter{Tx: t, Codec: s.codec}, tx: t})
	})
}

// Cursor implements insight.Store.
func (s *Store) Cursor(ctx context.Context, source string) (int64, error) {
	return cursor.Get(ctx, s.pool, source, false)
}

// Facts implements insight.Store.
func (s *Store) Facts(ctx context.Context, id string, now time.Time) (*insight.Facts, error) {
	m, err := s.FactsMany(ctx, []string{id}, now)
	if err != nil {
		return nil, err
	}
	f, ok := m[id]
	if !ok {
		return nil, errs.NotFound(insight.CustomerName(id))
	}
	return f, nil
}

// FactsMany implements insight.Store with five set-based statements,
// whatever the number of customers.
func (s *Store) FactsMany(ctx context.Context, ids []string, now time.Time) (map[string]*insight.Facts, error) {
	out := make(map[string]*insight.Facts, len(ids))
	rows, err := s.pool.Query(ctx, `SELECT id::text, display_name, lifecycle_stage, value_tier, account_manager, loyalty_points, deleted, manual_stage_time,
			needs, price_sensitivity
		FROM customers WHERE id = ANY($1::uuid[])`, ids)
	customers, err := pg.Collect(rows, err, func(r pgx.Row) (insight.Customer, error) {
		var c insight.Customer
		return c, r.Scan(&c.ID, &c.DisplayName, &c.Stage, &c.ValueTier, &c.AccountManager, &c.Points, &c.Deleted, &c.ManualStageTime,
			&c.Needs, &c.PriceSensitivity)
	})
	if err != nil {
		return nil, err
	}
	for _, c := range customers {
		out[c.ID] = &insight.Facts{Customer: c, Now: now, ByChannel: map[string]int64{}, LastNPS: -1, DaysSincePurchase: -1}
	}
	if len(out) == 0 {
		return out, nil
	}

	rows, err = s.pool.Query(ctx, `
		SELECT customer_id::text, currency_code,
		       count(*) FILTER (WHERE kind = 'PURCHASE' AND occur_time >= $2::timestamptz - interval '90 days'),
		       count(*) FILTER (WHERE kind = 'PURCHASE' AND occur_time >= $2::timestamptz - interval '12 months'),
		       count(*) FILTER (WHERE kind = 'PURCHASE'),
		       coalesce(sum(amount) FILTER (WHERE kind = 'PURCHASE' AND occur_time >= $2::timestamptz - interval '90 days'), 0)::text,
		       coalesce(sum(amount) FILTER (WHERE kind = 'PURCHASE' AND occur_time >= $2::timestamptz - interval '12 months'), 0)::text,
		       coalesce(sum(amount) FILTER (WHERE kind = 'PURCHASE'), 0)::text,
		       count(*) FILTER (WHERE kind = 'REFUND' AND occur_time >= $2::timestamptz - interval '12 months'),
		       coalesce(sum(amount) FILTER (WHERE kind = 'REFUND' AND occur_time >= $2::timestamptz - interval '12 months'), 0)::text
		FROM records WHERE customer_id = ANY($1::uuid[]) AND NOT deleted AND kind IN ('PURCHASE', 'REFUND') AND currency_code <> ''
		GROUP BY customer_id, currency_code ORDER BY customer_id, currency_code`, ids, now)
	if err != nil {
		return nil, pg.Classify(err)
	}
	var (
		id string
		p  insight.PurchaseFacts
	)
	_, err = pgx.ForEachRow(rows, []any{&id, &p.Currency, &p.Count90d, &p.Count12m, &p.CountLifetime, &p.Amount90d, &p.Amount12m, &p.AmountTotal, &p.Refunds12m, &p.Refunded12m}, func() error {
		if f := out[id]; f != nil {
			q := p
			q.Amount90d, q.Amount12m, q.AmountTotal, q.Refunded12m = pg.Decimal(p.Amount90d), pg.Decimal(p.Amount12m), pg.Decimal(p.AmountTotal), pg.Decimal(p.Refunded12m)
			f.Purchases = append(f.Purchases, q)
		}
		return nil
	})
	if err != nil {
		return nil, pg.Classify(err)
	}

	var (
		first, last, contact *time.Time
		purchases, contacts  int64
		interval             *float64
	)
	rows, err = s.pool.Query(ctx, `
		SELECT customer_id::text, min(occur_time) FILTER (WHERE kind = 'PURCHASE'), max(occur_time) FILTER (WHERE kind = 'PURCHASE'),
		       count(*) FILTER (WHERE kind = 'PURCHASE'),
		       max(occur_time) FILTER (WHERE kind NOT IN ('PURCHASE', 'REFUND', 'NOTE')),
		       count(*) FILTER (WHERE kind NOT IN ('PURCHASE', 'REFUND', 'NOTE') AND occur_time >= $2::timestamptz - interval '30 days'),
		       extract(epoch FROM max(occur_time) FILTER (WHERE kind = 'PURCHASE') - min(occur_time) FILTER (WHERE kind = 'PURCHASE'))
		         / nullif(count(*) FILTER (WHERE kind = 'PURCHASE') - 1, 0)
		FROM records WHERE customer_id = ANY($1::uuid[]) AND NOT deleted GROUP BY customer_id`, ids, now)
	if err != nil {
		return nil, pg.Classify(err)
	}
	_, err = pgx.ForEachRow(rows, []any{&id, &first, &last, &purchases, &contact, &contacts, &interval}, func() error {
		f := out[id]
		if f == nil {
			return nil
		}
		f.FirstPurchase, f.LastPurchase, f.PurchaseCount, f.LastContact, f.Contacts30d = utc(first), utc(last), purchases, utc(contact), contacts
		if interval != nil {
			f.AverageInterval = time.Duration(*interval * float64(time.Second)).Round(time.Second)
		}
		if f.LastPurchase != nil {
			f.DaysSincePurchase = int(now.Sub(*f.LastPurchase) / (24 * time.Hour))
		}
		return nil
	})
	if err != nil {
		return nil, pg.Classify(err)
	}

	var (
		channel string
		n       int64
	)
	rows, err = s.pool.Query(ctx, `SELECT customer_id::text, channel, count(*) FROM records
		WHERE customer_id = ANY($1::uuid[]) AND NOT deleted AND channel <> '' GROUP BY customer_id, channel`, ids)
	if err != nil {
		return nil, pg.Classify(err)
	}
	_, err = pgx.ForEachRow(rows, []any{&id, &channel, &n}, func() error {
		if f := out[id]; f != nil {
			f.ByChannel[channel] = n
		}
		return nil
	})
	if err != nil {
		return nil, pg.Classify(err)
	}

	var (
		open, complaints, csatAnswers int64
		csat                          *float64
		nps                           *int
	)
	rows, err = s.pool.Query(ctx, `
		SELECT c.id::text,
		       (SELECT count(*) FROM tickets WHERE customer_id = c.id AND NOT deleted AND status IN ('NEW', 'OPEN', 'PENDING_CUSTOMER')),
		       (SELECT count(*) FROM tickets WHERE customer_id = c.id AND NOT deleted AND type = 'COMPLAINT' AND create_time >= $2::timestamptz - interval '90 days'),
		       (SELECT count(*) FROM answers WHERE customer_id = c.id AND kind = 'CSAT'),
		       (SELECT avg(score)::float8 FROM answers WHERE customer_id = c.id AND kind = 'CSAT'),
		       (SELECT score FROM answers WHERE customer_id = c.id AND kind = 'NPS' ORDER BY answer_time DESC LIMIT 1)
		FROM unnest($1::uuid[]) AS c(id)`, ids, now)
	if err != nil {
		return nil, pg.Classify(err)
	}
	_, err = pgx.ForEachRow(rows, []any{&id, &open, &complaints, &csatAnswers, &csat, &nps}, func() error {
		f := out[id]
		if f == nil {
			return nil
		}
		f.OpenTickets, f.Complaints90d, f.CSATAnswers = open, complaints, csatAnswers
		if csat != nil {
			f.AverageCSAT = *csat
		}
		if nps != nil {
			f.LastNPS = *nps
		}
		return nil
	})
	return out, pg.Classify(err)
}

// utc is t in UTC, nil for nil.
func utc(t *time.Time) *time.Time {
	if t == nil {
		return nil
	}
	v := t.UTC()
	return &v
}

// Scores implements insight.Store.
func (s *Store) Scores(ctx context.Context, id string) (insight.Scores, error) {
	m, err := s.ScoresMany(ctx, []string{id})
	return m[id], err
}

// ScoresMany implements insight.Store.
func (s *Store) ScoresMany(ctx context.Context, ids []string) (map[string]insight.Scores, error) {
	rows, err := s.pool.Query(ctx, `SELECT customer_id::text, recency, frequency, monetary, abc, share_12m, cumulative, score_time
		FROM scores WHERE customer_id = ANY($1::uuid[])`, ids)
	if err != nil {
		return nil, pg.Classify(err)
	}
	out := make(map[string]insight.Scores, len(ids))
	var (
		id string
		sc insight.Scores
	)
	_, err = pgx.ForEachRow(rows, []any{&id, &sc.Recency, &sc.Frequency, &sc.Monetary, &sc.ABC, &sc.Share12m, &sc.Cumulative, &sc.Time}, func() error {
		v := sc
		v.Time = v.Time.UTC()
		out[id] = v
		return nil
	})
	return out, pg.Classify(err)
}

// Trend implements insight.Store.
func (s *Store) Trend(ctx context.Context, id, currency string, now time.Time) (string, string, error) {
	m, err := s.Trends(ctx, []string{id}, currency, now)
	return m[id].Last, m[id].Previous, err
}

// Trends implements insight.Store; a customer without purchases in the
// currency has zero both ways.
func (s *Store) Trends(ctx context.Context, ids []string, currency string, now time.Time) (map[string]insight.Spend, error) {
	rows, err := s.pool.Query(ctx, `
		SELECT customer_id::text,
		       coalesce(sum(amount) FILTER (WHERE occur_time >= $3::timestamptz - interval '90 days'), 0)::text,
		       coalesce(sum(amount) FILTER (WHERE occur_time < $3::timestamptz - interval '90 days' AND occur_time >= $3::timestamptz - interval '180 days'), 0)::text
		FROM records WHERE customer_id = ANY($1::uuid[]) AND currency_code = $2 AND kind = 'PURCHASE' AND NOT deleted
		GROUP BY customer_id`, ids, currency, now)
	if err != nil {
		return nil, pg.Classify(err)
	}
	out := make(map[string]insight.Spend, len(ids))
	for _, id := range ids {
		out[id] = insight.Spend{Last: "0", Previous: "0"}
	}
	var id, last, previous string
	_, err = pgx.ForEachRow(rows, []any{&id, &last, &previous}, func() error {
		out[id] = insight.Spend{Last: pg.Decimal(last), Previous: pg.Decimal(previous)}
		return nil
	})
	return out, pg.Classify(err)
}

// ProposeMany implements insight.Store in two statements.
func (s *Store) ProposeMany(ctx context.Context, ps []insight.Proposal) error {
	var drop, ids, stages, reasons []string
	var times []time.Time
	for _, p := range ps {
		if p.Stage == "" {
			drop = append(drop, p.CustomerID)
			continue
		}
		ids, stages, reasons, times = append(ids, p.CustomerID), append(stages, p.Stage), append(reasons, p.Reason), append(times, p.Time)
	}
	if len(drop) > 0 {
		if _, err := s.pool.Exec(ctx, `DELETE FROM stage_proposals WHERE customer_id = ANY($1::uuid[])`, drop); err != nil {
			return pg.Classify(err)
		}
	}
	if len(ids) == 0 {
		return nil
	}
	// An unchanged proposal keeps its time, and with it its request id.
	_, err := s.pool.Exec(ctx, `INSERT INTO stage_proposals (customer_id, stage, reason, create_time)
		SELECT * FROM unnest($1::uuid[], $2::text[], $3::text[], $4::timestamptz[])
		ON CONFLICT (customer_id) DO UPDATE SET stage = excluded.stage, reason = excluded.reason, create_time = excluded.create_time
		WHERE stage_proposals.stage <> excluded.stage`, ids, stages, reasons, times)
	return pg.Classify(err)
}

// Proposals implements insight.Store.
func (s *Store) Proposals(ctx context.Context, limit int) ([]insight.Proposal, error) {
	rows, err := s.pool.Query(ctx, `SELECT customer_id::text, stage, reason, create_time FROM stage_proposals ORDER BY create_time LIMIT $1`, limit)
	return pg.Collect(rows, err, func(r pgx.Row) (insight.Proposal, error) {
		var p insight.Proposal
		err := r.Scan(&p.CustomerID, &p.Stage, &p.Reason, &p.Time)
		p.Time = p.Time.UTC()
		return p, err
	})
}

// Withdraw implements insight.Store.
func (s *Store) Withdraw(ctx context.Context, p insight.Proposal) error {
	_, err := s.pool.Exec(ctx, `DELETE FROM stage_proposals WHERE customer_id = $1 AND stage = $2 AND create_time = $3`, p.CustomerID, p.Stage, p.Time)
	return pg.Classify(err)
}

// CustomerIDs implements insight.Store.
func (s *Store) CustomerIDs(ctx context.Context, after string, limit int) ([]string, error) {
	if after == "" {
		after = "00000000-0000-0000-0000-000000000000"
	}
	rows, err := s.pool.Query(ctx, `SELECT id::text FROM customers WHERE id > $1::uuid ORDER BY id LIMIT $2`, after, limit)
	return pg.Collect(rows, err, func(r pgx.Row) (string, error) {
		var id string
		return id, r.Scan(&id)
	})
}

// Buyers implements insight.Store.
func (s *Store) Buyers(ctx context.Context, after string, limit int) ([]string, error) {
	if after == "" {
		after = "00000000-0000-0000-0000-000000000000"
	}
	rows, err := s.pool.Query(ctx, `SELECT c.id::text FROM customers c WHERE NOT c.deleted AND c.id > $1::uuid
		AND EXISTS (SELECT 1 FROM records r WHERE r.customer_id = c.id AND r.kind = 'PURCHASE' AND NOT r.deleted)
		ORDER BY c.id LIMIT $2`, after, limit)
	return pg.Collect(rows, err, func(r pgx.Row) (string, error) {
		var id string
		return id, r.Scan(&id)
	})
}

// AtRisk implements insight.Store.
func (s *Store) AtRisk(ctx context.Context, manager string, after insight.Cursor, limit int) ([]insight.Churn, error) {
	w := &filter.Where{}
	w.Add("k.warned")
	w.Add("EXISTS (SELECT 1 FROM customers c WHERE c.id = k.customer_id AND NOT c.deleted)")
	if manager != "" {
		w.Add("k.account_manager = %s", manager)
	}
	if after.ID != "" {
		w.Add("(k.value_at_risk, k.customer_id) < (%s::numeric, %s::uuid)", after.Key, after.ID)
	}
	rows, err := s.pool.Query(ctx, `SELECT k.customer_id::text, k.score, k.reasons, k.value_at_risk::text, k.account_manager
		FROM churn k WHERE `+w.SQL()+` ORDER BY k.value_at_risk DESC, k.customer_id DESC LIMIT `+w.Arg(limit), w.Args()...)
	return pg.Collect(rows, err, func(r pgx.Row) (insight.Churn, error) {
		var c insight.Churn
		err := r.Scan(&c.CustomerID, &c.Score, &c.Reasons, &c.ValueAtRisk, &c.AccountManager)
		c.ValueAtRisk = pg.Decimal(c.ValueAtRisk)
		return c, err
	})
}

// RetentionVisits implements insight.Store.
func (s *Store) RetentionVisits(ctx context.Context, limit int) ([]insight.RetentionVisit, error) {
	rows, err := s.pool.Query(ctx, `SELECT customer_id::text, crossing_time, assignee, purpose FROM retention_visits
		ORDER BY crossing_time LIMIT $1`, limit)
	return pg.Collect(rows, err, func(r pgx.Row) (insight.RetentionVisit, error) {
		var v insight.RetentionVisit
		err := r.Scan(&v.CustomerID, &v.Crossing, &v.Assignee, &v.Purpose)
		v.Crossing = v.Crossing.UTC()
		return v, err
	})
}

// ForgetRetentionVisit implements insight.Store.
func (s *Store) ForgetRetentionVisit(ctx context.Context, v insight.RetentionVisit) error {
	_, err := s.pool.Exec(ctx, `DELETE FROM retention_visits WHERE customer_id = $1 AND crossing_time = $2`, v.CustomerID, v.Crossing)
	return pg.Classify(err)
}
