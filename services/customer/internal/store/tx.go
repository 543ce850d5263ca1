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
	tx     pgx.Tx
	crypto *Crypto
}

var _ customer.Tx = (*tx)(nil)

func (t *tx) Get(ctx context.Context, id string) (*customer.Customer, error) {
	return t.crypto.get(ctx, t.tx, id, false)
}

func (t *tx) Lock(ctx context.Context, id string) (*customer.Customer, error) {
	return t.crypto.get(ctx, t.tx, id, true)
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
	r, err := t.crypto.row(c)
	if err != nil {
		return err
	}
	_, err = t.tx.Exec(ctx, `
		INSERT INTO customers (id, kind, display_name, email_index, phone_index, company, title, address,
			source, lifecycle_stage, value_tier, need_profile, account_manager, tags, attributes,
			marketing_consent, loyalty_points, membership_tier, external_id, revision,
			create_time, update_time, delete_time, pii)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18,
			NULLIF($19, ''), $20, $21, $22, $23, $24)`,
		c.ID, c.Kind, c.DisplayName, r.emailIndex, r.phoneIndex, c.Company, c.Title, r.place,
		c.Source, c.Stage, c.ValueTier, c.Needs, c.AccountManager, pg.NonNil(c.Tags), pg.NonNilMap(c.Attributes),
		c.MarketingConsent, c.Points, c.Membership, c.ExternalID, c.Revision,
		c.CreateTime, c.UpdateTime, c.DeleteTime, r.pii)
	return conflict(err, c)
}

func (t *tx) Update(ctx context.Context, c *customer.Customer) error {
	r, err := t.crypto.row(c)
	if err != nil {
		return err
	}
	_, err = t.tx.Exec(ctx, `
		UPDATE customers SET kind = $2, display_name = $3, email_index = $4, phone_index = $5, company = $6,
			title = $7, address = $8, birthday = '', source = $9, lifecycle_stage = $10,
			value_tier = $11, need_profile = $12, account_manager = $13, tags = $14, attributes = $15,
			marketing_consent = $16, loyalty_points = $17, membership_tier = $18,
			external_id = NULLIF($19, ''), revision = $20, update_time = $21, delete_time = $22,
			pii = $23
		WHERE id = $1`,
		c.ID, c.Kind, c.DisplayName, r.emailIndex, r.phoneIndex, c.Company, c.Title, r.place,
		c.Source, c.Stage, c.ValueTier, c.Needs, c.AccountManager, pg.NonNil(c.Tags), pg.NonNilMap(c.Attributes),
		c.MarketingConsent, c.Points, c.Membership, c.ExternalID, c.Revision, c.UpdateTime, c.DeleteTime,
		r.pii)
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
	if err := w.Filter(f, t.crypto.fields); err != nil {
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
	return pg.Collect(rows, err, t.crypto.scan(ctx))
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
