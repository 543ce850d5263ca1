package store

import (
	"context"

	"github.com/jackc/pgx/v5"

	"github.com/kehu-crm/kehu/pkg/pg"
	"github.com/kehu-crm/kehu/services/analytics/internal/insight"
)

// ProposeTiers implements insight.Store in one statement: every live
// customer whose scored tier differs from their record's, except
// customers never classified who have not bought (a prospect is not "C").
// An unchanged proposal keeps its time, and with it its request id.
//
// Who ever bought is one pass over the purchases, joined by hash: probing
// each customer's records (as an EXISTS under OR is planned) read ten
// million rows at random for a million customers.
func (s *Store) ProposeTiers(ctx context.Context, p insight.ScoringParams) (int64, error) {
	var n int64
	err := pg.InTx(ctx, s.pool, pgx.ReadCommitted, func(tx pgx.Tx) error {
		if err := wholeModel(ctx, tx); err != nil {
			return err
		}
		tag, err := tx.Exec(ctx, `
		WITH buyers AS (
			SELECT DISTINCT r.customer_id FROM records r WHERE r.kind = 'PURCHASE' AND NOT r.deleted
		), wanted AS (
			SELECT c.id, s.abc, format('analytics: ABC tier %s: the customers ahead of them make %s%% of 12-month revenue (A below %s%%, B below %s%%)',
			       s.abc, round((s.cumulative - s.share_12m)::numeric * 100, 1), round($2::numeric * 100, 1), round($3::numeric * 100, 1)) AS reason
			FROM customers c JOIN scores s ON s.customer_id = c.id LEFT JOIN buyers b ON b.customer_id = c.id
			WHERE NOT c.deleted AND s.abc <> c.value_tier AND (c.value_tier <> '' OR b.customer_id IS NOT NULL)
		), stale AS (
			DELETE FROM tier_proposals p WHERE NOT EXISTS (SELECT 1 FROM wanted w WHERE w.id = p.customer_id)
		)
		INSERT INTO tier_proposals (customer_id, tier, reason, create_time) SELECT id, abc, reason, $1 FROM wanted
		ON CONFLICT (customer_id) DO UPDATE SET tier = excluded.tier, reason = excluded.reason, create_time = excluded.create_time
		WHERE tier_proposals.tier <> excluded.tier`, p.Now, p.ShareA, p.ShareB)
		n = tag.RowsAffected()
		return pg.Classify(err)
	})
	return n, err
}

// TierProposals implements insight.Store, oldest first.
func (s *Store) TierProposals(ctx context.Context, limit int) ([]insight.TierProposal, error) {
	rows, err := s.pool.Query(ctx, `SELECT customer_id::text, tier, reason, create_time FROM tier_proposals ORDER BY create_time LIMIT $1`, limit)
	return pg.Collect(rows, err, func(r pgx.Row) (insight.TierProposal, error) {
		var p insight.TierProposal
		err := r.Scan(&p.CustomerID, &p.Tier, &p.Reason, &p.Time)
		p.Time = p.Time.UTC()
		return p, err
	})
}

// WithdrawTier implements insight.Store, unless a newer proposal replaced p.
func (s *Store) WithdrawTier(ctx context.Context, p insight.TierProposal) error {
	_, err := s.pool.Exec(ctx, `DELETE FROM tier_proposals WHERE customer_id = $1 AND tier = $2 AND create_time = $3`, p.CustomerID, p.Tier, p.Time)
	return pg.Classify(err)
}
