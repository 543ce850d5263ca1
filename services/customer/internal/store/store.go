// Package store implements the customer domain's Store on PostgreSQL with
// pgx. It is the only package of the service that speaks SQL; it returns
// domain types and errs errors, never pgx types.
package store

import (
	"context"
	"fmt"
	"strings"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/kehu-crm/kehu/pkg/errs"
	"github.com/kehu-crm/kehu/pkg/filter"
	"github.com/kehu-crm/kehu/pkg/idempotency/keystore"
	"github.com/kehu-crm/kehu/pkg/outbox"
	"github.com/kehu-crm/kehu/pkg/pg"
	"github.com/kehu-crm/kehu/services/customer/internal/customer"
)

// Store is the PostgreSQL implementation of customer.Store.
type Store struct {
	pool   *pgxpool.Pool
	codec  outbox.Codec
	crypto *Crypto
}

var _ customer.Store = (*Store)(nil)

// New returns a Store on a pool whose search_path is the customer schema;
// crypto seals the personal fields (and the events' payloads).
func New(pool *pgxpool.Pool, codec outbox.Codec, crypto *Crypto) *Store {
	return &Store{pool: pool, codec: codec, crypto: crypto}
}

// columns selects a full customer; scanCustomer reads them in this order.
// For a sealed row the e-mail and phone columns hold indexes, and the
// address only city and country: Crypto.open replaces them from pii.
const columns = `c.id::text, c.kind, c.display_name, c.email_index, c.phone_index, c.company, c.title,
	c.address, c.birthday, c.source, c.lifecycle_stage, c.value_tier, c.need_profile,
	c.account_manager, c.tags, c.attributes, c.marketing_consent, c.loyalty_points,
	c.membership_tier, coalesce(c.external_id, ''), c.revision, c.create_time, c.update_time,
	c.delete_time,
	coalesce((SELECT array_agg(m.id::text ORDER BY m.id) FROM customers m WHERE m.merged_into = c.id), '{}'),
	c.pii`

// scanCustomer reads columns; the caller opens pii (Crypto.scan).
func scanCustomer(row pgx.Row) (*customer.Customer, []byte, error) {
	var (
		c   customer.Customer
		pii []byte
	)
	err := row.Scan(&c.ID, &c.Kind, &c.DisplayName, &c.Emails, &c.Phones, &c.Company, &c.Title,
		&c.Address, &c.Birthday, &c.Source, &c.Stage, &c.ValueTier, &c.Needs,
		&c.AccountManager, &c.Tags, &c.Attributes, &c.MarketingConsent, &c.Points,
		&c.Membership, &c.ExternalID, &c.Revision, &c.CreateTime, &c.UpdateTime,
		&c.DeleteTime, &c.MergedIDs, &pii)
	if err != nil {
		return nil, nil, err
	}
	c.CreateTime, c.UpdateTime = c.CreateTime.UTC(), c.UpdateTime.UTC()
	if c.DeleteTime != nil {
		t := c.DeleteTime.UTC()
		c.DeleteTime = &t
	}
	return &c, pii, nil
}

// resolved is the id a customer id resolves to: itself, or the survivor it
// was merged into.
const resolved = `(SELECT coalesce(r.merged_into, r.id) FROM customers r WHERE r.id = $1::uuid)`

func (k *Crypto) get(ctx context.Context, q pg.Querier, id string, lock bool) (*customer.Customer, error) {
	sql := `SELECT ` + columns + ` FROM customers c WHERE c.id = ` + resolved
	if lock {
		sql += ` FOR UPDATE OF c`
	}
	return pg.One(q.QueryRow(ctx, sql, id), k.scan(ctx), customer.Name(id))
}

// Get implements customer.Store.
func (s *Store) Get(ctx context.Context, id string) (*customer.Customer, error) {
	return s.crypto.get(ctx, s.pool, id, false)
}

// GetMany implements customer.Store.
func (s *Store) GetMany(ctx context.Context, ids []string) (map[string]*customer.Customer, error) {
	rows, err := s.pool.Query(ctx, `
		SELECT r.id::text, `+columns+`
		FROM customers r JOIN customers c ON c.id = coalesce(r.merged_into, r.id)
		WHERE r.id = ANY($1::uuid[])`, ids)
	if err != nil {
		return nil, pg.Classify(err)
	}
	defer rows.Close()
	out := make(map[string]*customer.Customer, len(ids))
	for rows.Next() {
		var asked string
		c, err := s.crypto.scan(ctx)(prefixScanner{rows, &asked})
		if err != nil {
			return nil, pg.Classify(err)
		}
		out[asked] = c
	}
	return out, pg.Classify(rows.Err())
}

// prefixScanner scans a leading column before the customer columns.
type prefixScanner struct {
	row    pgx.Row
	prefix any
}

func (p prefixScanner) Scan(dest ...any) error {
	return p.row.Scan(append([]any{p.prefix}, dest...)...)
}

// sortColumns are the sortable fields: SQL expression and the type of the
// cursor key, so the keyset comparison compares like with like.
var sortColumns = map[string]struct{ expr, typ string }{
	"create_time":    {"c.create_time", "timestamptz"},
	"update_time":    {"c.update_time", "timestamptz"},
	"display_name":   {"lower(c.display_name)", "text"},
	"company":        {"lower(c.company)", "text"},
	"loyalty_points": {"c.loyalty_points", "bigint"},
}

// List implements customer.Store.
func (s *Store) List(ctx context.Context, q customer.ListQuery) ([]*customer.Customer, error) {
	w := &filter.Where{}
	w.Add("c.merged_into IS NULL")
	if !q.ShowDeleted {
		w.Add("c.delete_time IS NULL")
	}
	if q.Scope != "" {
		w.Add("(c.account_manager = %s OR c.account_manager = '')", q.Scope)
	}
	schema := s.crypto.fields
	if len(q.Hidden) > 0 {
		schema = schema.Without(q.Hidden...)
	}
	if err := w.Filter(q.Filter, schema); err != nil {
		return nil, err
	}
	var order string
	if q.Order.Field == "id" {
		// Export pages by id alone: stable however long it runs.
		if q.After.ID != "" {
			w.Add("c.id > %s::uuid", q.After.ID)
		}
		order = "c.id"
	} else {
		sc, ok := sortColumns[q.Order.Field]
		if !ok {
			return nil, errs.InvalidField("order_by", "cannot sort by %q", q.Order.Field)
		}
		dir, cmp := "ASC", ">"
		if q.Order.Desc {
			dir, cmp = "DESC", "<"
		}
		if q.After.ID != "" {
			w.Add(fmt.Sprintf("(%s, c.id) %s (%%s::%s, %%s::uuid)", sc.expr, cmp, sc.typ), q.After.Key, q.After.ID)
		}
		order = fmt.Sprintf("%s %s, c.id %s", sc.expr, dir, dir)
	}
	sql := fmt.Sprintf(`SELECT %s FROM customers c WHERE %s ORDER BY %s LIMIT %d`, columns, w.SQL(), order, q.Limit)
	rows, err := s.pool.Query(ctx, sql, w.Args()...)
	return pg.Collect(rows, err, s.crypto.scan(ctx))
}

// Search implements customer.Store.
func (s *Store) Search(ctx context.Context, q customer.SearchQuery) ([]*customer.Customer, error) {
	w := &filter.Where{}
	w.Add("c.merged_into IS NULL AND c.delete_time IS NULL")
	if q.Scope != "" {
		w.Add("(c.account_manager = %s OR c.account_manager = '')", q.Scope)
	}
	text := w.Arg(q.Text)
	like := w.Arg("%" + escapeLike(q.Text) + "%")
	// Names and companies match by trigram (migration 0004's index): a
	// substring hit above a fuzzy one.
	const doc = "lower(c.display_name || ' ' || c.company)"
	// Contacts are not in the document: the whole text is looked up as an
	// e-mail or phone by its blind index, for callers who see contacts.
	contact, rank := "false", ""
	if !q.VisibleOnly {
		contact = fmt.Sprintf("(c.email_index @> ARRAY[%s] OR c.phone_index @> ARRAY[%s])",
			w.Arg(s.crypto.emailIndex(q.Text)), w.Arg(s.crypto.phoneIndex(q.Text)))
		rank = contact + " DESC, "
	}
	// A contact hit ranks first, then a substring hit above a fuzzy one;
	// all use an index.
	w.Add(fmt.Sprintf("(%[1]s LIKE %[2]s OR %[3]s OPERATOR(public.<%%) %[1]s OR %[4]s)", doc, like, text, contact))
	sql := fmt.Sprintf(`SELECT %[1]s FROM customers c WHERE %[2]s
		ORDER BY %[8]s(%[3]s LIKE %[4]s) DESC,
		         greatest(public.similarity(%[3]s, %[5]s), public.word_similarity(%[5]s, %[3]s)) DESC,
		         c.id
		LIMIT %[6]d OFFSET %[7]d`, columns, w.SQL(), doc, like, text, q.Limit, q.Offset, rank)
	rows, err := s.pool.Query(ctx, sql, w.Args()...)
	return pg.Collect(rows, err, s.crypto.scan(ctx))
}

func escapeLike(s string) string {
	return strings.NewReplacer(`\`, `\\`, `%`, `\%`, `_`, `\_`).Replace(s)
}

// FindDuplicates implements customer.Store. Exact e-mail and phone matches
// (equal blind indexes) come first (score 1), then pairs at the same
// company whose names are trigram-similar.
func (s *Store) FindDuplicates(ctx context.Context, customerID string, offset, limit int) ([]customer.DuplicateGroup, error) {
	rows, err := s.pool.Query(ctx, `
		WITH live AS (
			SELECT id, email_index AS emails, phone_index AS phones, lower(display_name) AS name, lower(company) AS company, create_time
			FROM customers WHERE merged_into IS NULL AND delete_time IS NULL
		), by_email AS (
			SELECT 'EMAIL' AS reason, e AS key, array_agg(id::text ORDER BY create_time, id) AS ids, 1.0::float8 AS score
			FROM live, unnest(emails) AS e GROUP BY e HAVING count(*) > 1
		), by_phone AS (
			SELECT 'PHONE', p, array_agg(id::text ORDER BY create_time, id), 1.0::float8
			FROM live, unnest(phones) AS p GROUP BY p HAVING count(*) > 1
		), by_name AS (
			SELECT 'NAME_AND_COMPANY', a.company,
			       CASE WHEN (a.create_time, a.id) < (b.create_time, b.id) THEN ARRAY[a.id::text, b.id::text] ELSE ARRAY[b.id::text, a.id::text] END,
			       public.similarity(a.name, b.name)::float8
			FROM live a JOIN live b ON a.company = b.company AND a.id < b.id
			WHERE a.company <> '' AND public.similarity(a.name, b.name) >= 0.5
		)
		SELECT * FROM (SELECT * FROM by_email UNION ALL SELECT * FROM by_phone UNION ALL SELECT * FROM by_name) g
		WHERE $3 = '' OR $3 = ANY(ids)
		ORDER BY score DESC, reason, key, ids
		LIMIT $1 OFFSET $2`, limit, offset, customerID)
	if err != nil {
		return nil, pg.Classify(err)
	}
	defer rows.Close()
	var out []customer.DuplicateGroup
	for rows.Next() {
		var g customer.DuplicateGroup
		if err := rows.Scan(&g.Reason, &g.Key, &g.CustomerIDs, &g.Score); err != nil {
			return nil, pg.Classify(err)
		}
		out = append(out, g)
	}
	if err := rows.Err(); err != nil {
		return nil, pg.Classify(err)
	}
	return out, s.nameContacts(ctx, out)
}

// nameContacts replaces the blind index keying an e-mail or phone group
// with the contact itself, read from the group's first customer.
func (s *Store) nameContacts(ctx context.Context, groups []customer.DuplicateGroup) error {
	var ids []string
	for _, g := range groups {
		if g.Reason == customer.DuplicateEmail || g.Reason == customer.DuplicatePhone {
			ids = append(ids, g.CustomerIDs[0])
		}
	}
	if len(ids) == 0 {
		return nil
	}
	cs, err := s.GetMany(ctx, ids)
	if err != nil {
		return err
	}
	contacts := map[string]string{}
	for _, c := range cs {
		for i, index := range s.crypto.indexes(kindEmail, c.Emails) {
			contacts[index] = c.Emails[i]
		}
		for i, index := range s.crypto.indexes(kindPhone, c.Phones) {
			contacts[index] = c.Phones[i]
		}
	}
	for i, g := range groups {
		if contact, ok := contacts[g.Key]; ok {
			groups[i].Key = contact
		}
	}
	return nil
}

// historyKeyset is the newest-first keyset condition for history tables.
const historyKeyset = ` AND ($2 = '' OR (create_time, id) < ($2::timestamptz, $3::uuid))`

// ListTransitions implements customer.Store.
func (s *Store) ListTransitions(ctx context.Context, customerID string, after customer.Cursor, limit int) ([]customer.Transition, error) {
	rows, err := s.pool.Query(ctx, `
		SELECT id::text, customer_id::text, from_stage, to_stage, reason, actor, create_time
		FROM lifecycle_transitions WHERE customer_id = $1::uuid`+historyKeyset+`
		ORDER BY create_time DESC, id DESC LIMIT $4`, customerID, after.Key, pg.NullIfEmpty(after.ID), limit)
	return pg.Collect(rows, err, scanTransition)
}

func scanTransition(row pgx.Row) (customer.Transition, error) {
	var t customer.Transition
	err := row.Scan(&t.ID, &t.CustomerID, &t.From, &t.To, &t.Reason, &t.Actor, &t.CreateTime)
	t.CreateTime = t.CreateTime.UTC()
	return t, err
}

// GetTransition implements customer.Store.
func (s *Store) GetTransition(ctx context.Context, id string) (*customer.Transition, error) {
	t, err := pg.One(s.pool.QueryRow(ctx, `
		SELECT id::text, customer_id::text, from_stage, to_stage, reason, actor, create_time
		FROM lifecycle_transitions WHERE id = $1::uuid`, id), scanTransition, "lifecycle transition "+id)
	if err != nil {
		return nil, err
	}
	return &t, nil
}

// ListLedger implements customer.Store.
func (s *Store) ListLedger(ctx context.Context, customerID string, after customer.Cursor, limit int) ([]customer.LedgerEntry, error) {
	rows, err := s.pool.Query(ctx, `
		SELECT id::text, customer_id::text, delta, balance, reason, actor, request_id, create_time
		FROM points_ledger WHERE customer_id = $1::uuid`+historyKeyset+`
		ORDER BY create_time DESC, id DESC LIMIT $4`, customerID, after.Key, pg.NullIfEmpty(after.ID), limit)
	return pg.Collect(rows, err, scanEntry)
}

func scanEntry(row pgx.Row) (customer.LedgerEntry, error) {
	var e customer.LedgerEntry
	err := row.Scan(&e.ID, &e.CustomerID, &e.Delta, &e.Balance, &e.Reason, &e.Actor, &e.RequestID, &e.CreateTime)
	e.CreateTime = e.CreateTime.UTC()
	return e, err
}

// GetLedgerEntry implements customer.Store.
func (s *Store) GetLedgerEntry(ctx context.Context, id string) (*customer.LedgerEntry, error) {
	e, err := pg.One(s.pool.QueryRow(ctx, `
		SELECT id::text, customer_id::text, delta, balance, reason, actor, request_id, create_time
		FROM points_ledger WHERE id = $1::uuid`, id), scanEntry, "points ledger entry "+id)
	if err != nil {
		return nil, err
	}
	return &e, nil
}

// InTx implements customer.Store.
func (s *Store) InTx(ctx context.Context, fn func(ctx context.Context, tx customer.Tx) error) error {
	return pg.InTx(ctx, s.pool, pgx.ReadCommitted, func(t pgx.Tx) error {
		return fn(ctx, &tx{Keys: keystore.Keys{Tx: t}, Emitter: s.emitter(t), tx: t, crypto: s.crypto})
	})
}

// emitter writes events of t to the outbox, their payloads sealed: they
// carry the customer, personal fields and all.
func (s *Store) emitter(t pgx.Tx) outbox.Emitter {
	return outbox.Emitter{Tx: t, Codec: s.codec, Sealer: s.crypto.keys}
}
