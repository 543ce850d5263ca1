package store

import (
	"context"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/kehu-crm/kehu/pkg/errs"
	"github.com/kehu-crm/kehu/pkg/filter"
	"github.com/kehu-crm/kehu/pkg/idempotency/keystore"
	"github.com/kehu-crm/kehu/pkg/outbox"
	"github.com/kehu-crm/kehu/pkg/pg"
	"github.com/kehu-crm/kehu/services/customer/internal/customer"
)

// tx implements customer.Tx on one pgx transaction; request ids and
// events are the platform's.
type tx struct {
	keystore.Keys
	outbox.Emitter
	tx pgx.Tx
}

var _ customer.Tx = (*tx)(nil)

func (t *tx) Get(ctx context.Context, id string) (*customer.Customer, error) {
	return get(ctx, t.tx, id, false)
}

func (t *tx) Lock(ctx context.Context, id string) (*customer.Customer, error) {
	return get(ctx, t.tx, id, true)
}

func (t *tx) ExternalIDTaken(ctx context.Context, externalID, exceptID string) (bool, error) {
	var taken bool
	err := t.tx.QueryRow(ctx, `
		SELECT EXISTS (SELECT 1 FROM customers
		WHERE external_id = $1 AND id <> $2::uuid AND merged_into IS NULL AND delete_time IS NULL)`,
		externalID, exceptID).Scan(&taken)
	return taken, pg.Classify(err)
}

func (t *tx) Insert(ctx context.Context, c *customer.Customer) error {
	_, err := t.tx.Exec(ctx, `
		INSERT INTO customers (id, kind, display_name, emails, phones, company, title, address, birthday,
			source, lifecycle_stage, value_tier, need_profile, account_manager, tags, attributes,
			marketing_consent, loyalty_points, membership_tier, external_id, revision,
			create_time, update_time, delete_time, search_text)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18, $19,
			NULLIF($20, ''), $21, $22, $23, $24, $25)`,
		c.ID, c.Kind, c.DisplayName, pg.NonNil(c.Emails), pg.NonNil(c.Phones), c.Company, c.Title, c.Address, c.Birthday,
		c.Source, c.Stage, c.ValueTier, c.Needs, c.AccountManager, pg.NonNil(c.Tags), pg.NonNilMap(c.Attributes),
		c.MarketingConsent, c.Points, c.Membership, c.ExternalID, c.Revision,
		c.CreateTime, c.UpdateTime, c.DeleteTime, searchText(c))
	return conflict(err, c)
}

func (t *tx) Update(ctx context.Context, c *customer.Customer) error {
	_, err := t.tx.Exec(ctx, `
		UPDATE customers SET kind = $2, display_name = $3, emails = $4, phones = $5, company = $6,
			title = $7, address = $8, birthday = $9, source = $10, lifecycle_stage = $11,
			value_tier = $12, need_profile = $13, account_manager = $14, tags = $15, attributes = $16,
			marketing_consent = $17, loyalty_points = $18, membership_tier = $19,
			external_id = NULLIF($20, ''), revision = $21, update_time = $22, delete_time = $23,
			search_text = $24
		WHERE id = $1`,
		c.ID, c.Kind, c.DisplayName, pg.NonNil(c.Emails), pg.NonNil(c.Phones), c.Company, c.Title, c.Address, c.Birthday,
		c.Source, c.Stage, c.ValueTier, c.Needs, c.AccountManager, pg.NonNil(c.Tags), pg.NonNilMap(c.Attributes),
		c.MarketingConsent, c.Points, c.Membership, c.ExternalID, c.Revision, c.UpdateTime, c.DeleteTime,
		searchText(c))
	return conflict(err, c)
}

// conflict names the field behind a unique violation.
func conflict(err error, c *customer.Customer) error {
	if err == nil {
		return nil
	}
	if pg.ConstraintName(err) == "customers_external_id_key" {
		return errs.AlreadyExists("DUPLICATE_EXTERNAL_ID", "another customer already has external_id %q", c.ExternalID).
			WithMetadata("external_id", c.ExternalID)
	}
	return pg.Classify(err)
}

func (t *tx) InsertTransition(ctx context.Context, tr *customer.Transition) error {
	_, err := t.tx.Exec(ctx, `
		INSERT INTO lifecycle_transitions (id, customer_id, from_stage, to_stage, reason, actor, create_time)
		VALUES ($1, $2, $3, $4, $5, $6, $7)`,
		tr.ID, tr.CustomerID, tr.From, tr.To, tr.Reason, tr.Actor, tr.CreateTime)
	return pg.Classify(err)
}

func (t *tx) InsertLedger(ctx context.Context, e *customer.LedgerEntry) error {
	_, err := t.tx.Exec(ctx, `
		INSERT INTO points_ledger (id, customer_id, delta, balance, reason, actor, request_id, create_time)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8)`,
		e.ID, e.CustomerID, e.Delta, e.Balance, e.Reason, e.Actor, e.RequestID, e.CreateTime)
	return pg.Classify(err)
}

func (t *tx) AssignWhere(ctx context.Context, f, scope, manager string, at time.Time) ([]string, error) {
	w := &filter.Where{}
	w.Add("c.merged_into IS NULL AND c.delete_time IS NULL")
	w.Add("c.account_manager <> %s", manager)
	if scope != "" {
		w.Add("(c.account_manager = %s OR c.account_manager = '')", scope)
	}
	if err := w.Filter(f, filterFields); err != nil {
		return nil, err
	}
	m, ts := w.Arg(manager), w.Arg(at)
	rows, err := t.tx.Query(ctx, `
		UPDATE customers c SET account_manager = `+m+`, revision = c.revision + 1, update_time = `+ts+`
		WHERE `+w.SQL()+` RETURNING c.id::text`, w.Args()...)
	if err != nil {
		return nil, pg.Classify(err)
	}
	return pgx.CollectRows(rows, pgx.RowTo[string])
}

func (t *tx) MarkMerged(ctx context.Context, ids []string, survivorID string, at time.Time) ([]*customer.Customer, error) {
	// Customers merged earlier into one being merged now follow it to the
	// new survivor, so every old name resolves in one step.
	if _, err := t.tx.Exec(ctx, `UPDATE customers SET merged_into = $2 WHERE merged_into = ANY($1::uuid[])`, ids, survivorID); err != nil {
		return nil, pg.Classify(err)
	}
	if _, err := t.tx.Exec(ctx, `
		UPDATE customers SET merged_into = $2, delete_time = coalesce(delete_time, $3),
			revision = revision + 1, update_time = $3
		WHERE id = ANY($1::uuid[])`, ids, survivorID, at); err != nil {
		return nil, pg.Classify(err)
	}
	rows, err := t.tx.Query(ctx, `SELECT `+columns+` FROM customers c WHERE c.id = ANY($1::uuid[]) ORDER BY c.id`, ids)
	return pg.Collect(rows, err, scanCustomer)
}

func (t *tx) Purge(ctx context.Context, id string) ([]string, error) {
	// Contacts the purged customer owns pass to others listing them before
	// the cascade drops its claims.
	if err := releaseAll(ctx, t.tx, []string{id}); err != nil {
		return nil, err
	}
	rows, err := t.tx.Query(ctx, `
		DELETE FROM customers WHERE id = $1::uuid OR merged_into = $1::uuid RETURNING id::text`, id)
	if err != nil {
		return nil, pg.Classify(err)
	}
	ids, err := pgx.CollectRows(rows, pgx.RowTo[string])
	if err != nil {
		return nil, pg.Classify(err)
	}
	for _, erased := range ids {
		if _, err := outbox.Erase(ctx, t.tx, customer.Name(erased)); err != nil {
			return nil, err
		}
	}
	return ids, nil
}
