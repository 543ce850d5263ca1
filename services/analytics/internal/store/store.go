// Package store implements the analytics domain's Store on PostgreSQL
// with pgx: the read model, the facts of one customer as set-based
// aggregates, and the scoring pass. It is the only package of the service
// that speaks SQL.
package store

import (
	"context"
	"errors"
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

// Facts implements insight.Store: a handful of aggregates over the
// customer's rows, each served by the customer indexes.
func (s *Store) Facts(ctx context.Context, id string, now time.Time) (*insight.Facts, error) {
	f := &insight.Facts{Now: now, ByChannel: map[string]int64{}, LastNPS: -1, DaysSincePurchase: -1}
	c := &f.Customer
	err := s.pool.QueryRow(ctx, `SELECT id::text, display_name, lifecycle_stage, value_tier, account_manager, loyalty_points, deleted, manual_stage_time,
			needs, price_sensitivity
		FROM customers WHERE id = $1`, id).Scan(&c.ID, &c.DisplayName, &c.Stage, &c.ValueTier, &c.AccountManager, &c.Points, &c.Deleted, &c.ManualStageTime,
		&c.Needs, &c.PriceSensitivity)
	if errors.Is(err, pgx.ErrNoRows) {
		return nil, errs.NotFound(insight.CustomerName(id))
	}
	if err != nil {
		return nil, pg.Classify(err)
	}

	rows, err := s.pool.Query(ctx, `
		SELECT currency_code,
		       count(*) FILTER (WHERE kind = 'PURCHASE' AND occur_time >= $2::timestamptz - interval '90 days'),
		       count(*) FILTER (WHERE kind = 'PURCHASE' AND occur_time >= $2::timestamptz - interval '12 months'),
		       count(*) FILTER (WHERE kind = 'PURCHASE'),
		       coalesce(sum(amount) FILTER (WHERE kind = 'PURCHASE' AND occur_time >= $2::timestamptz - interval '90 days'), 0)::text,
		       coalesce(sum(amount) FILTER (WHERE kind = 'PURCHASE' AND occur_time >= $2::timestamptz - interval '12 months'), 0)::text,
		       coalesce(sum(amount) FILTER (WHERE kind = 'PURCHASE'), 0)::text,
		       count(*) FILTER (WHERE kind = 'REFUND' AND occur_time >= $2::timestamptz - interval '12 months'),
		       coalesce(sum(amount) FILTER (WHERE kind = 'REFUND' AND occur_time >= $2::timestamptz - interval '12 months'), 0)::text
		FROM records WHERE customer_id = $1 AND NOT deleted AND kind IN ('PURCHASE', 'REFUND') AND currency_code <> ''
		GROUP BY currency_code ORDER BY currency_code`, id, now)
	purchases, err := pg.Collect(rows, err, func(r pgx.Row) (insight.PurchaseFacts, error) {
		var p insight.PurchaseFacts
		err := r.Scan(&p.Currency, &p.Count90d, &p.Count12m, &p.CountLifetime, &p.Amount90d, &p.Amount12m, &p.AmountTotal, &p.Refunds12m, &p.Refunded12m)
		p.Amount90d, p.Amount12m, p.AmountTotal, p.Refunded12m = pg.Decimal(p.Amount90d), pg.Decimal(p.Amount12m), pg.Decimal(p.AmountTotal), pg.Decimal(p.Refunded12m)
		return p, err
	})
	if err != nil {
		return nil, err
	}
	f.Purchases = purchases

	var interval *float64
	err = s.pool.QueryRow(ctx, `
		SELECT min(occur_time) FILTER (WHERE kind = 'PURCHASE'), max(occur_time) FILTER (WHERE kind = 'PURCHASE'),
		       count(*) FILTER (WHERE kind = 'PURCHASE'),
		       max(occur_time) FILTER (WHERE kind NOT IN ('PURCHASE', 'REFUND', 'NOTE')),
		       count(*) FILTER (WHERE kind NOT IN ('PURCHASE', 'REFUND', 'NOTE') AND occur_time >= $2::timestamptz - interval '30 days'),
		       extract(epoch FROM max(occur_time) FILTER (WHERE kind = 'PURCHASE') - min(occur_time) FILTER (WHERE kind = 'PURCHASE'))
		         / nullif(count(*) FILTER (WHERE kind = 'PURCHASE') - 1, 0)
		FROM records WHERE customer_id = $1 AND NOT deleted`, id, now).
		Scan(&f.FirstPurchase, &f.LastPurchase, &f.PurchaseCount, &f.LastContact, &f.Contacts30d, &interval)
	if err != nil {
		return nil, pg.Classify(err)
	}
	if interval != nil {
		f.AverageInterval = time.Duration(*interval * float64(time.Second)).Round(time.Second)
	}
	if f.LastPurchase != nil {
		f.DaysSincePurchase = int(now.Sub(*f.LastPurchase) / (24 * time.Hour))
	}

	rows, err = s.pool.Query(ctx, `SELECT channel, count(*) FROM records
		WHERE customer_id = $1 AND NOT deleted AND channel <> '' GROUP BY channel ORDER BY channel`, id)
	type count struct {
		key string
		n   int64
	}
	channels, err := pg.Collect(rows, err, func(r pgx.Row) (count, error) {
		var c count
		return c, r.Scan(&c.key, &c.n)
	})
	if err != nil {
		return nil, err
	}
	for _, c := range channels {
		f.ByChannel[c.key] = c.n
	}

	var csat *float64
	var nps *int
	err = s.pool.QueryRow(ctx, `
		SELECT (SELECT count(*) FROM tickets WHERE customer_id = $1 AND NOT deleted AND status IN ('NEW', 'OPEN', 'PENDING_CUSTOMER')),
		       (SELECT count(*) FROM tickets WHERE customer_id = $1 AND NOT deleted AND type = 'COMPLAINT' AND create_time >= $2::timestamptz - interval '90 days'),
		       (SELECT count(*) FROM answers WHERE customer_id = $1 AND kind = 'CSAT'),
		       (SELECT avg(score)::float8 FROM answers WHERE customer_id = $1 AND kind = 'CSAT'),
		       (SELECT score FROM answers WHERE customer_id = $1 AND kind = 'NPS' ORDER BY answer_time DESC LIMIT 1)`, id, now).
		Scan(&f.OpenTickets, &f.Complaints90d, &f.CSATAnswers, &csat, &nps)
	if err != nil {
		return nil, pg.Classify(err)
	}
	if csat != nil {
		f.AverageCSAT = *csat
	}
	if nps != nil {
		f.LastNPS = *nps
	}
	for _, t := range []**time.Time{&f.FirstPurchase, &f.LastPurchase, &f.LastContact} {
		if *t != nil {
			v := (*t).UTC()
			*t = &v
		}
	}
	return f, nil
}

// Scores implements insight.Store.
func (s *Store) Scores(ctx context.Context, id string) (insight.Scores, error) {
	var sc insight.Scores
	err := s.pool.QueryRow(ctx, `SELECT recency, frequency, monetary, abc, share_12m, cumulative, score_time FROM scores WHERE customer_id = $1`, id).
		Scan(&sc.Recency, &sc.Frequency, &sc.Monetary, &sc.ABC, &sc.Share12m, &sc.Cumulative, &sc.Time)
	if errors.Is(err, pgx.ErrNoRows) {
		return insight.Scores{}, nil
	}
	sc.Time = sc.Time.UTC()
	return sc, pg.Classify(err)
}

// Trend implements insight.Store.
func (s *Store) Trend(ctx context.Context, id, currency string, now time.Time) (string, string, error) {
	var last, previous string
	err := s.pool.QueryRow(ctx, `
		SELECT coalesce(sum(amount) FILTER (WHERE occur_time >= $3::timestamptz - interval '90 days'), 0)::text,
		       coalesce(sum(amount) FILTER (WHERE occur_time < $3::timestamptz - interval '90 days' AND occur_time >= $3::timestamptz - interval '180 days'), 0)::text
		FROM records WHERE customer_id = $1 AND currency_code = $2 AND kind = 'PURCHASE' AND NOT deleted`, id, currency, now).Scan(&last, &previous)
	return pg.Decimal(last), pg.Decimal(previous), pg.Classify(err)
}

// Propose implements insight.Store.
func (s *Store) Propose(ctx context.Context, p insight.Proposal) error {
	if p.Stage == "" {
		_, err := s.pool.Exec(ctx, `DELETE FROM stage_proposals WHERE customer_id = $1`, p.CustomerID)
		return pg.Classify(err)
	}
	// An unchanged proposal keeps its time, and with it its request id.
	_, err := s.pool.Exec(ctx, `INSERT INTO stage_proposals (customer_id, stage, reason, create_time) VALUES ($1, $2, $3, $4)
		ON CONFLICT (customer_id) DO UPDATE SET stage = excluded.stage, reason = excluded.reason, create_time = excluded.create_time
		WHERE stage_proposals.stage <> excluded.stage`, p.CustomerID, p.Stage, p.Reason, p.Time)
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
