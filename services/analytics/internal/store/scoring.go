package store

import (
	"context"

	"github.com/jackc/pgx/v5"
	"github.com/kehu-crm/kehu/pkg/pg"
	"github.com/kehu-crm/kehu/services/analytics/internal/insight"
)

// Recompute implements insight.Store in one statement. Active customers
// (a purchase in the scoring currency in the 12 months to now) get R, F
// and M as quintiles: ceil(5 × cume_dist), so equal values share a score;
// the most recent, most frequent and biggest spenders score 5. ABC goes by
// 12-month contribution: ordered by spend, a customer is A while the
// share of the customers before them is under ShareA, B under ShareB, C
// after, and C without purchases. Every live customer gets a row; deleted
// ones lose theirs.
func (s *Store) Recompute(ctx context.Context, p insight.ScoringParams) (int64, error) {
	var n int64
	err := pg.InTx(ctx, s.pool, pgx.ReadCommitted, func(tx pgx.Tx) error {
		if err := wholeModel(ctx, tx); err != nil {
			return err
		}
		if _, err := tx.Exec(ctx, `DELETE FROM scores s WHERE NOT EXISTS (SELECT 1 FROM customers c WHERE c.id = s.customer_id AND NOT c.deleted)`); err != nil {
			return pg.Classify(err)
		}
		tag, err := tx.Exec(ctx, `
			WITH active AS (
				SELECT r.customer_id, max(r.occur_time) AS last, count(*) AS n, sum(r.amount) AS m
				FROM records r JOIN customers c ON c.id = r.customer_id AND NOT c.deleted
				WHERE r.kind = 'PURCHASE' AND NOT r.deleted AND r.currency_code = $2
				  AND r.occur_time >= $1::timestamptz - interval '12 months' AND r.occur_time <= $1
				GROUP BY r.customer_id
			), ranked AS (
				SELECT customer_id,
				       ceil(5 * cume_dist() OVER (ORDER BY last))::int AS r,
				       ceil(5 * cume_dist() OVER (ORDER BY n))::int AS f,
				       ceil(5 * cume_dist() OVER (ORDER BY m))::int AS mo,
				       coalesce(m / nullif(sum(m) OVER (), 0), 0)::float8 AS share,
				       coalesce(sum(m) OVER (ORDER BY m DESC, customer_id ROWS UNBOUNDED PRECEDING) / nullif(sum(m) OVER (), 0), 0)::float8 AS cum
				FROM active
			)
			INSERT INTO scores (customer_id, recency, frequency, monetary, abc, share_12m, cumulative, score_time)
			SELECT c.id, coalesce(k.r, 0), coalesce(k.f, 0), coalesce(k.mo, 0),
			       CASE WHEN k.customer_id IS NULL OR k.share = 0 THEN 'C'
			            WHEN k.cum - k.share < $3 THEN 'A'
			            WHEN k.cum - k.share < $4 THEN 'B'
			            ELSE 'C' END,
			       coalesce(k.share, 0), coalesce(k.cum, 0), $1
			FROM customers c LEFT JOIN ranked k ON k.customer_id = c.id
			WHERE NOT c.deleted
			ON CONFLICT (customer_id) DO UPDATE SET recency = excluded.recency, frequency = excluded.frequency,
				monetary = excluded.monetary, abc = excluded.abc, share_12m = excluded.share_12m,
				cumulative = excluded.cumulative, score_time = excluded.score_time`,
			p.Now, p.Currency, p.ShareA, p.ShareB)
		n = tag.RowsAffected()
		return pg.Classify(err)
	})
	return n, err
}
