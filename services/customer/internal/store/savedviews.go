package store

import (
	"context"
	"strings"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/kehu-crm/kehu/pkg/errs"
	"github.com/kehu-crm/kehu/pkg/filter"
	"github.com/kehu-crm/kehu/pkg/idempotency/keystore"
	"github.com/kehu-crm/kehu/pkg/pg"
	"github.com/kehu-crm/kehu/services/customer/internal/savedview"
)

// SavedViews is the PostgreSQL implementation of savedview.Store (see
// migrations/0007_saved_views.sql).
type SavedViews struct {
	pool   *pgxpool.Pool
	fields filter.Schema
}

var _ savedview.Store = (*SavedViews)(nil)

// SavedViews returns the saved views kept next to s's customers. Their
// filters are checked against the customer list's allow-list.
func (s *Store) SavedViews() *SavedViews {
	return &SavedViews{pool: s.pool, fields: s.crypto.fields}
}

const viewColumns = `id::text, owner, display_name, filter, query, order_by, columns, revision, create_time, update_time`

func scanView(row pgx.Row) (*savedview.View, error) {
	var v savedview.View
	err := row.Scan(&v.ID, &v.Owner, &v.DisplayName, &v.Filter, &v.Query, &v.OrderBy, &v.Columns, &v.Revision, &v.CreateTime, &v.UpdateTime)
	v.CreateTime, v.UpdateTime = v.CreateTime.UTC(), v.UpdateTime.UTC()
	return &v, err
}

// CheckFilter implements savedview.Store.
func (s *SavedViews) CheckFilter(f string) error {
	_, err := filter.Compile(f, s.fields, 0)
	return err
}

// Get implements savedview.Store.
func (s *SavedViews) Get(ctx context.Context, owner, id string) (*savedview.View, error) {
	return pg.One(s.pool.QueryRow(ctx, `SELECT `+viewColumns+` FROM saved_views WHERE id = $1 AND owner = $2`, id, owner),
		scanView, savedview.Name(id))
}

// List implements savedview.Store.
func (s *SavedViews) List(ctx context.Context, owner, after string, limit int) ([]*savedview.View, error) {
	rows, err := s.pool.Query(ctx, `SELECT `+viewColumns+` FROM saved_views
		WHERE owner = $1 AND lower(display_name) > $2 ORDER BY lower(display_name) LIMIT $3`, owner, after, limit)
	return pg.Collect(rows, err, scanView)
}

// InTx implements savedview.Store.
func (s *SavedViews) InTx(ctx context.Context, fn func(ctx context.Context, tx savedview.Tx) error) error {
	return pg.InTx(ctx, s.pool, pgx.ReadCommitted, func(t pgx.Tx) error {
		return fn(ctx, &viewTx{Keys: keystore.Keys{Tx: t}, tx: t})
	})
}

// viewTx implements savedview.Tx on one pgx transaction.
type viewTx struct {
	keystore.Keys
	tx pgx.Tx
}

func (t *viewTx) Lock(ctx context.Context, owner, id string) (*savedview.View, error) {
	return pg.One(t.tx.QueryRow(ctx, `SELECT `+viewColumns+` FROM saved_views WHERE id = $1 AND owner = $2 FOR UPDATE`, id, owner),
		scanView, savedview.Name(id))
}

func (t *viewTx) Insert(ctx context.Context, v *savedview.View) error {
	_, err := t.tx.Exec(ctx, `INSERT INTO saved_views (id, owner, display_name, filter, query, order_by, columns, revision, create_time, update_time)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)`,
		v.ID, v.Owner, v.DisplayName, v.Filter, v.Query, v.OrderBy, pg.NonNil(v.Columns), v.Revision, v.CreateTime, v.UpdateTime)
	return nameTaken(err, v.DisplayName)
}

func (t *viewTx) Update(ctx context.Context, v *savedview.View) error {
	_, err := t.tx.Exec(ctx, `UPDATE saved_views SET display_name = $3, filter = $4, query = $5, order_by = $6, columns = $7,
		revision = $8, update_time = $9 WHERE id = $1 AND owner = $2`,
		v.ID, v.Owner, v.DisplayName, v.Filter, v.Query, v.OrderBy, pg.NonNil(v.Columns), v.Revision, v.UpdateTime)
	return nameTaken(err, v.DisplayName)
}

func (t *viewTx) Delete(ctx context.Context, owner, id string) error {
	_, err := t.tx.Exec(ctx, `DELETE FROM saved_views WHERE id = $1 AND owner = $2`, id, owner)
	return pg.Classify(err)
}

// nameTaken turns the owner's unique display name into an error that names
// the field.
func nameTaken(err error, name string) error {
	if pg.ConstraintName(err) == "saved_views_owner_display_name_key" {
		return errs.AlreadyExists("SAVED_VIEW_NAME_TAKEN", "you already have a saved view named %q; choose another name or update that view", strings.TrimSpace(name)).
			WithField("saved_view.display_name", "is already used by another of your saved views")
	}
	return pg.Classify(err)
}
