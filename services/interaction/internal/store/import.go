package store

import (
	"context"
	"fmt"
	"slices"

	"github.com/jackc/pgx/v5"

	"github.com/kehu-crm/kehu/pkg/customerref"
	"github.com/kehu-crm/kehu/pkg/customerref/erased"
	"github.com/kehu-crm/kehu/pkg/pg"
	"github.com/kehu-crm/kehu/services/interaction/internal/interaction"
)

// importColumns are copied into the staging table, in this order.
var importColumns = []string{
	"row_no", "external_id", "id", "customer_id", "channel", "direction", "kind", "occur_time", "duration_ms",
	"subject", "summary", "agent", "touchpoint_id", "satisfaction", "sentiment", "amount", "currency_code",
	"order_reference", "product_categories", "lifecycle_stage", "revision", "create_time", "update_time",
}

// ImportInteractions implements interaction.Tx: COPY the rows into a
// staging table, resolve each row's customer in the projection (a merged
// one to its survivor) and find the rows imported before, all in one
// statement; refuse the erased customers' rows under the erasure lock; then
// one INSERT … SELECT stores the rest. A row that a concurrent import
// stored meanwhile is skipped by the unique external id, not an error.
func (t *tx) ImportInteractions(ctx context.Context, rows []interaction.ImportRow) ([]interaction.ImportOutcome, error) {
	if _, err := t.tx.Exec(ctx, `CREATE TEMP TABLE import_interactions (LIKE interactions INCLUDING DEFAULTS, row_no bigint NOT NULL) ON COMMIT DROP`); err != nil {
		return nil, pg.Classify(err)
	}
	_, err := t.tx.CopyFrom(ctx, pgx.Identifier{"import_interactions"}, importColumns, pgx.CopyFromSlice(len(rows), func(n int) ([]any, error) {
		r, i := rows[n], rows[n].Interaction
		amount, currency := amountArgs(i.Amount)
		return []any{int64(n), r.ExternalID, i.ID, i.CustomerID, i.Channel, i.Direction, i.Kind, i.OccurTime, i.Duration.Milliseconds(),
			i.Subject, i.Summary, i.Agent, pg.NullIfEmpty(i.Touchpoint), int16(i.Satisfaction), i.Sentiment, amount, currency,
			i.OrderReference, pg.NonNil(i.ProductCategories), i.Stage, i.Revision, i.CreateTime, i.UpdateTime}, nil
	}))
	if err != nil {
		return nil, pg.Classify(err)
	}
	// row_no is the row's index in rows, so outcomes line up with them.
	// Each row probes the indexes (LATERAL … LIMIT 1 keeps the planner
	// from hashing whole tables): the staging table has no statistics, and
	// the big tables' are stale in the middle of a bulk load.
	resolved, err := t.tx.Query(ctx, `
		SELECT r.row_no, coalesce(s.id::text, ''), CASE WHEN r.lifecycle_stage <> '' THEN r.lifecycle_stage ELSE coalesce(s.lifecycle_stage, '') END,
		       i.imported IS NOT NULL, min(r.row_no) OVER (PARTITION BY r.external_id)
		FROM import_interactions r
		LEFT JOIN LATERAL (SELECT c.id, c.merged_into FROM customers c WHERE c.id = r.customer_id LIMIT 1) c ON true
		LEFT JOIN LATERAL (SELECT s.id, s.lifecycle_stage FROM customers s WHERE s.id = coalesce(c.merged_into, c.id) AND NOT s.deleted LIMIT 1) s ON true
		LEFT JOIN LATERAL (SELECT true AS imported FROM interactions i WHERE i.external_id = r.external_id LIMIT 1) i ON true
		ORDER BY r.row_no`)
	var customers []string
	outcomes, err := pg.Collect(resolved, err, func(r pgx.Row) (interaction.ImportOutcome, error) {
		var (
			o        interaction.ImportOutcome
			n, first int64
			imported bool
		)
		if err := r.Scan(&n, &o.CustomerID, &o.Stage, &imported, &first); err != nil {
			return o, err
		}
		o.Row = rows[n].Row
		switch {
		case imported:
			o.Skipped = true
		case first != n:
			o.Field, o.Err = "external_id", fmt.Sprintf("repeats row %d of this import", rows[first].Row)
		case o.CustomerID == "":
			o.Field, o.Err = "parent", fmt.Sprintf("customer %s does not exist", customerref.Name(rows[n].Interaction.CustomerID))
		default:
			customers = append(customers, o.CustomerID)
		}
		return o, nil
	})
	if err != nil {
		return nil, err
	}
	gone, err := erased.Which(ctx, t.tx, customers)
	if err != nil {
		return nil, err
	}
	var (
		good              []int64
		goodIDs, goodStgs []string
	)
	for n := range outcomes {
		o := &outcomes[n]
		switch {
		case o.Skipped || o.Err != "":
		case slices.Contains(gone, o.CustomerID):
			o.Field, o.Err = "parent", fmt.Sprintf("customer %s does not exist", customerref.Name(rows[n].Interaction.CustomerID))
		default:
			good, goodIDs, goodStgs = append(good, int64(n)), append(goodIDs, o.CustomerID), append(goodStgs, o.Stage)
		}
	}
	inserted, err := t.tx.Query(ctx, `
		INSERT INTO interactions (id, customer_id, channel, direction, kind, occur_time, duration_ms, subject, summary,
			agent, touchpoint_id, satisfaction, sentiment, amount, currency_code, order_reference, product_categories,
			lifecycle_stage, revision, create_time, update_time, external_id)
		SELECT r.id, g.customer_id, r.channel, r.direction, r.kind, r.occur_time, r.duration_ms, r.subject, r.summary,
			r.agent, r.touchpoint_id, r.satisfaction, r.sentiment, r.amount, r.currency_code, r.order_reference, r.product_categories,
			g.stage, r.revision, r.create_time, r.update_time, r.external_id
		FROM import_interactions r JOIN unnest($1::bigint[], $2::uuid[], $3::text[]) AS g (row_no, customer_id, stage) USING (row_no)
		ON CONFLICT (external_id) WHERE external_id IS NOT NULL DO NOTHING
		RETURNING id::text`, good, goodIDs, goodStgs)
	stored, err := pg.Collect(inserted, err, func(r pgx.Row) (string, error) {
		var id string
		return id, r.Scan(&id)
	})
	if err != nil {
		return nil, err
	}
	if len(stored) < len(good) {
		// A concurrent import stored these external ids first.
		ids := make(map[string]bool, len(stored))
		for _, id := range stored {
			ids[id] = true
		}
		for _, n := range good {
			if !ids[rows[n].Interaction.ID] {
				outcomes[n].Skipped = true
			}
		}
	}
	return outcomes, nil
}
