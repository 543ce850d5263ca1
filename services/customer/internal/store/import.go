package store

import (
	"context"
	"fmt"

	"github.com/jackc/pgx/v5"

	"github.com/kehu-crm/kehu/pkg/event"
	"github.com/kehu-crm/kehu/pkg/pg"
	"github.com/kehu-crm/kehu/services/customer/internal/customer"
)

// customerColumns are the columns an imported customer is written with,
// in the order importValues gives them.
var customerColumns = []string{
	"id", "kind", "display_name", "email_index", "phone_index", "company", "title", "address",
	"source", "lifecycle_stage", "value_tier", "need_profile", "account_manager", "tags",
	"attributes", "marketing_consent", "loyalty_points", "membership_tier", "external_id", "revision",
	"create_time", "update_time", "pii",
}

// importValues is a customer's row in customerColumns order, its personal
// fields sealed as r.
func importValues(c *customer.Customer, r sealedRow) []any {
	return []any{c.ID, c.Kind, c.DisplayName, r.emailIndex, r.phoneIndex, c.Company, c.Title,
		r.place, c.Source, c.Stage, c.ValueTier, c.Needs, c.AccountManager, pg.NonNil(c.Tags),
		pg.NonNilMap(c.Attributes), c.MarketingConsent, int64(0), c.Membership, c.ExternalID, int64(1),
		c.CreateTime, c.UpdateTime, r.pii}
}

// importRow is a row of the batch as written: sealed for the id of the
// customer it creates or updates (personal fields are bound to their row),
// with the contacts it lists by blind index and the values to name them by
// in errors.
type importRow struct {
	customer.ImportRow
	id     string
	sealed sealedRow
	listed []contact
	named  map[contact]string
}

// sealRows seals each row for the customer it will be written as.
func (k *Crypto) sealRows(rows []customer.ImportRow, known map[string]*liveCustomer) ([]importRow, error) {
	out := make([]importRow, len(rows))
	for i, r := range rows {
		c := r.Customer
		if live := known[c.ExternalID]; live != nil {
			updated := *c
			updated.ID = live.id
			c = &updated
		}
		sealed, err := k.row(c)
		if err != nil {
			return nil, err
		}
		ir := importRow{ImportRow: r, id: c.ID, sealed: sealed, named: map[contact]string{}}
		add := func(kind string, indexes, values []string) {
			for j, index := range indexes {
				x := contact{kind, index}
				if _, dup := ir.named[x]; !dup {
					ir.listed = append(ir.listed, x)
					ir.named[x] = values[j]
				}
			}
		}
		add(kindEmail, sealed.emailIndex, c.Emails)
		add(kindPhone, sealed.phoneIndex, c.Phones)
		out[i] = ir
	}
	return out, nil
}

// Import implements customer.Store, all in one transaction:
//
//  1. the contacts table is locked against concurrent claims, and one
//     read each learns which external ids are live customers already and
//     who owns the batch's contacts; rows that would give a contact a
//     second owner are rejected (see contactClashes);
//  2. the new customers are copied straight into the table, their
//     contacts into contacts, and their events are built from the rows in
//     hand (a new customer is exactly what was copied);
//  3. the known ones are updated through a staging table (see
//     importUpdates), which also re-reads them for their events;
//  4. all events go to the outbox at once.
//
// Uniqueness stays the database's: a customer created concurrently with an
// external id or contact of the batch fails the COPY, never a silent twin.
func (s *Store) Import(ctx context.Context, rows []customer.ImportRow, actor string) ([]customer.ImportOutcome, error) {
	var outcomes []customer.ImportOutcome
	err := pg.InTx(ctx, s.pool, pgx.ReadCommitted, func(t pgx.Tx) error {
		if _, err := t.Exec(ctx, `LOCK TABLE contacts IN SHARE ROW EXCLUSIVE MODE`); err != nil {
			return err
		}
		known, err := liveByExternalID(ctx, t, rows)
		if err != nil {
			return err
		}
		sealed, err := s.crypto.sealRows(rows, known)
		if err != nil {
			return err
		}
		owners, err := contactOwners(ctx, t, sealed)
		if err != nil {
			return err
		}
		outcomes = contactClashes(sealed, known, owners)
		rejected := make(map[int64]bool, len(outcomes))
		for _, o := range outcomes {
			rejected[o.Row] = true
		}
		var created, updates []importRow
		for _, r := range sealed {
			switch {
			case rejected[r.Row]:
			case known[r.Customer.ExternalID] != nil:
				updates = append(updates, r)
			default:
				created = append(created, r)
				outcomes = append(outcomes, customer.ImportOutcome{Row: r.Row, ID: r.id, Created: true})
			}
		}
		events, err := insertImported(ctx, t, created, actor)
		if err != nil {
			return err
		}
		updated, err := s.importUpdates(ctx, t, updates)
		if err != nil {
			return err
		}
		for _, u := range updated {
			outcomes = append(outcomes, customer.ImportOutcome{Row: u.row, ID: u.c.ID})
			events = append(events, event.Event{Type: customer.EventUpdated, Subject: u.c.Name(), Actor: actor, Data: u.c})
		}
		return s.emitter(t).Emit(ctx, events...)
	})
	return outcomes, pg.Classify(err)
}

// liveCustomer is what the import needs of a live customer it updates:
// its id and the blind indexes of the contacts it lists.
type liveCustomer struct {
	id             string
	emails, phones []string
}

// liveByExternalID returns the live customers with the batch's external ids.
func liveByExternalID(ctx context.Context, t pgx.Tx, rows []customer.ImportRow) (map[string]*liveCustomer, error) {
	ids := make([]string, len(rows))
	for i, r := range rows {
		ids[i] = r.Customer.ExternalID
	}
	// Locked, so that they are still live when they are updated.
	found, err := t.Query(ctx, `
		SELECT external_id, id::text, email_index, phone_index FROM customers
		WHERE external_id = ANY($1::text[]) AND merged_into IS NULL AND delete_time IS NULL
		FOR NO KEY UPDATE`, ids)
	if err != nil {
		return nil, err
	}
	known := map[string]*liveCustomer{}
	var ext string
	var c liveCustomer
	_, err = pgx.ForEachRow(found, []any{&ext, &c.id, &c.emails, &c.phones}, func() error {
		known[ext] = &liveCustomer{id: c.id, emails: c.emails, phones: c.phones}
		return nil
	})
	return known, err
}

// contact is an e-mail or phone as the contacts table keys it: its kind
// and blind index.
type contact struct{ kind, index string }

// contactOwners returns who owns each contact the batch lists.
func contactOwners(ctx context.Context, t pgx.Tx, rows []importRow) (map[contact]string, error) {
	var kinds, values []string
	for _, r := range rows {
		for _, x := range r.listed {
			kinds, values = append(kinds, x.kind), append(values, x.index)
		}
	}
	owners := map[contact]string{}
	if len(kinds) == 0 {
		return owners, nil
	}
	found, err := t.Query(ctx, `
		SELECT x.kind, x.value, x.customer_id::text
		FROM unnest($1::text[], $2::text[]) AS w(kind, value)
		JOIN contacts x ON x.kind = w.kind AND x.value = w.value`, kinds, values)
	if err != nil {
		return nil, err
	}
	var x contact
	var owner string
	_, err = pgx.ForEachRow(found, []any{&x.kind, &x.index, &owner}, func() error {
		owners[x] = owner
		return nil
	})
	return owners, err
}

// contactClashes rejects the rows that would give a contact a second
// owner: one owned by another customer (unless the row updates a customer
// that already lists it), or one an earlier row of the batch lists (whether
// or not that row was accepted). A row is reported once, for its first
// clash: another owner before an earlier row, an earlier row before a
// later one, then e-mails before phones, then by value.
func contactClashes(rows []importRow, known map[string]*liveCustomer, owners map[contact]string) []customer.ImportOutcome {
	firstRow := map[contact]int64{}
	var out []customer.ImportOutcome
	for _, r := range rows {
		had := map[contact]bool{}
		if k := known[r.Customer.ExternalID]; k != nil {
			for _, index := range k.emails {
				had[contact{kindEmail, index}] = true
			}
			for _, index := range k.phones {
				had[contact{kindPhone, index}] = true
			}
		}
		var first *clash
		for _, x := range r.listed {
			if owner, ok := owners[x]; ok && owner != r.id && !had[x] {
				first = first.before(clash{contact: x, value: r.named[x], firstRow: -1})
			}
			if row, ok := firstRow[x]; ok {
				first = first.before(clash{contact: x, value: r.named[x], firstRow: row})
			} else {
				firstRow[x] = r.Row
			}
		}
		if first != nil {
			o := customer.ImportOutcome{Row: r.Row, Field: "customer." + first.kind + "s", Err: fmt.Sprintf("%q belongs to another customer", first.value)}
			if first.firstRow >= 0 {
				o.Err = fmt.Sprintf("%q is also listed by row %d of this import", first.value, first.firstRow)
			}
			out = append(out, o)
		}
	}
	return out
}

// clash is a contact a row may not claim: owned by another customer
// (firstRow -1) or listed by an earlier row.
type clash struct {
	contact
	value    string // the contact itself, to name it by
	firstRow int64
}

// before returns whichever of c and d is reported first; c may be nil.
func (c *clash) before(d clash) *clash {
	if c == nil || d.firstRow < c.firstRow ||
		d.firstRow == c.firstRow && (d.kind < c.kind || d.kind == c.kind && d.value < c.value) {
		return &d
	}
	return c
}

// insertImported copies new customers and their contacts into the tables
// and returns their creation events.
func insertImported(ctx context.Context, t pgx.Tx, created []importRow, actor string) ([]event.Event, error) {
	if len(created) == 0 {
		return nil, nil
	}
	_, err := t.CopyFrom(ctx, pgx.Identifier{"customers"}, customerColumns, pgx.CopyFromSlice(len(created), func(i int) ([]any, error) {
		return importValues(created[i].Customer, created[i].sealed), nil
	}))
	if err != nil {
		return nil, err
	}
	var claims [][]any
	events := make([]event.Event, len(created))
	for i, r := range created {
		for _, x := range r.listed {
			claims = append(claims, []any{x.kind, x.index, r.id})
		}
		// What the COPY wrote, as a read would return it.
		stored := r.Customer.Clone()
		stored.Points, stored.Revision = 0, 1
		events[i] = event.Event{Type: customer.EventCreated, Subject: stored.Name(), Actor: actor, Data: stored}
	}
	if _, err := t.CopyFrom(ctx, pgx.Identifier{"contacts"}, []string{"kind", "value", "customer_id"}, pgx.CopyFromRows(claims)); err != nil {
		return nil, err
	}
	return events, nil
}

// updatedRow is a customer an import row updated, as stored.
type updatedRow struct {
	row int64
	c   *customer.Customer
}

// importUpdates merges rows into the live customers with their external
// ids, through a staging table and one UPDATE, and re-reads them: what an
// update stores depends on what was there.
//
// The import is the source of truth for profile fields, but it does not
// reset what the CRM itself owns: lifecycle stage, points, the original
// source channel, and (unless given) value tier and account manager.
// Attributes are merged, the import's values winning.
func (s *Store) importUpdates(ctx context.Context, t pgx.Tx, rows []importRow) ([]updatedRow, error) {
	if len(rows) == 0 {
		return nil, nil
	}
	if _, err := t.Exec(ctx, `CREATE TEMP TABLE import_rows (LIKE customers INCLUDING DEFAULTS) ON COMMIT DROP`); err != nil {
		return nil, err
	}
	rowOf := make(map[string]int64, len(rows))
	ids := make([]string, len(rows))
	_, err := t.CopyFrom(ctx, pgx.Identifier{"import_rows"}, customerColumns, pgx.CopyFromSlice(len(rows), func(i int) ([]any, error) {
		c := *rows[i].Customer
		c.ID = rows[i].id
		ids[i], rowOf[c.ID] = c.ID, rows[i].Row
		return importValues(&c, rows[i].sealed), nil
	}))
	if err != nil {
		return nil, err
	}
	if _, err := t.Exec(ctx, `
		UPDATE customers c SET kind = r.kind, display_name = r.display_name, email_index = r.email_index,
			phone_index = r.phone_index, company = r.company, title = r.title, address = r.address,
			birthday = '', pii = r.pii, need_profile = r.need_profile, tags = r.tags,
			value_tier = CASE WHEN r.value_tier <> '' THEN r.value_tier ELSE c.value_tier END,
			account_manager = CASE WHEN r.account_manager <> '' THEN r.account_manager ELSE c.account_manager END,
			attributes = c.attributes || r.attributes, marketing_consent = r.marketing_consent,
			revision = c.revision + 1, update_time = r.update_time
		FROM import_rows r WHERE c.id = r.id`); err != nil {
		return nil, err
	}
	if err := claimUpdated(ctx, t, ids); err != nil {
		return nil, err
	}
	found, err := t.Query(ctx, `SELECT `+columns+` FROM customers c WHERE c.id = ANY($1::uuid[]) ORDER BY c.id`, ids)
	cs, err := pg.Collect(found, err, s.crypto.scan(ctx))
	if err != nil {
		return nil, err
	}
	out := make([]updatedRow, len(cs))
	for i, c := range cs {
		out[i] = updatedRow{row: rowOf[c.ID], c: c}
	}
	return out, nil
}

// claimUpdated settles the updated customers' contacts: claims of contacts
// a customer no longer lists pass to whoever else lists them, and every
// listed contact no one owns is claimed.
func claimUpdated(ctx context.Context, t pgx.Tx, ids []string) error {
	dropped, err := t.Query(ctx, `
		DELETE FROM contacts x USING customers c
		WHERE x.customer_id = c.id AND c.id = ANY($1::uuid[])
		  AND NOT (CASE x.kind WHEN 'email' THEN x.value = ANY(c.email_index) ELSE x.value = ANY(c.phone_index) END)
		RETURNING x.kind, x.value`, ids)
	if err := rehome(ctx, t, dropped, err, []string{}); err != nil {
		return err
	}
	_, err = t.Exec(ctx, `
		INSERT INTO contacts (kind, value, customer_id)
		SELECT 'email', unnest(email_index), id FROM customers WHERE id = ANY($1::uuid[])
		UNION ALL
		SELECT 'phone', unnest(phone_index), id FROM customers WHERE id = ANY($1::uuid[])
		ON CONFLICT (kind, value) DO NOTHING`, ids)
	return pg.Classify(err)
}

// RefreshStatistics implements customer.Store: ANALYZE samples the tables
// an import fills.
func (s *Store) RefreshStatistics(ctx context.Context) error {
	_, err := s.pool.Exec(ctx, `ANALYZE customers, contacts`)
	return pg.Classify(err)
}
