package store

import (
	"context"
	"fmt"

	"github.com/jackc/pgx/v5"

	"github.com/kehu-crm/kehu/pkg/event"
	"github.com/kehu-crm/kehu/pkg/pg"
	"github.com/kehu-crm/kehu/services/customer/internal/customer"
)

// importColumns are copied into the staging table, in this order.
var importColumns = []string{
	"row_no", "id", "kind", "display_name", "email_index", "phone_index", "company", "title", "address",
	"source", "lifecycle_stage", "value_tier", "need_profile", "account_manager", "tags",
	"attributes", "marketing_consent", "loyalty_points", "membership_tier", "external_id", "revision",
	"create_time", "update_time", "search_text", "pii",
}

// Import implements customer.Store: COPY the batch into a temporary staging
// table, then two set-based statements update the customers whose external
// id exists and insert the rest, and their events go to the outbox, all in
// one transaction.
//
// On update, the import is the source of truth for profile fields, but it
// does not reset what the CRM itself owns: lifecycle stage, points, the
// original source channel, and (unless given) value tier and account manager.
// Attributes are merged, the import's values winning.
func (s *Store) Import(ctx context.Context, rows []customer.ImportRow, actor string) ([]customer.ImportOutcome, error) {
	var outcomes []customer.ImportOutcome
	err := pg.InTx(ctx, s.pool, pgx.ReadCommitted, func(t pgx.Tx) error {
		outcomes = outcomes[:0]
		if _, err := t.Exec(ctx, `CREATE TEMP TABLE import_rows (LIKE customers INCLUDING DEFAULTS, row_no bigint NOT NULL) ON COMMIT DROP`); err != nil {
			return err
		}
		// A row that updates is sealed for the id of the customer it
		// updates: personal fields are bound to their row.
		existing, err := liveByExternalID(ctx, t, rows)
		if err != nil {
			return err
		}
		byID := make(map[string]int64, len(rows))
		// The contacts behind the batch's indexes, to name them in errors.
		contacts := make(map[string]string, len(rows))
		_, err = t.CopyFrom(ctx, pgx.Identifier{"import_rows"}, importColumns, pgx.CopyFromSlice(len(rows), func(i int) ([]any, error) {
			c := rows[i].Customer
			if id, ok := existing[c.ExternalID]; ok {
				updated := *c
				updated.ID = id
				c = &updated
			}
			byID[c.ID] = rows[i].Row
			r, err := s.crypto.row(c)
			if err != nil {
				return nil, err
			}
			for j, index := range r.emailIndex {
				contacts[index] = c.Emails[j]
			}
			for j, index := range r.phoneIndex {
				contacts[index] = c.Phones[j]
			}
			return []any{rows[i].Row, c.ID, c.Kind, c.DisplayName, r.emailIndex, r.phoneIndex, c.Company, c.Title,
				r.place, c.Source, c.Stage, c.ValueTier, c.Needs, c.AccountManager, pg.NonNil(c.Tags),
				pg.NonNilMap(c.Attributes), c.MarketingConsent, int64(0), c.Membership, c.ExternalID, int64(1),
				c.CreateTime, c.UpdateTime, r.search, r.pii}, nil
		}))
		if err != nil {
			return err
		}
		if outcomes, err = rejectContactClashes(ctx, t, contacts); err != nil {
			return err
		}
		updated, err := t.Query(ctx, `
			UPDATE customers c SET kind = r.kind, display_name = r.display_name, email_index = r.email_index,
				phone_index = r.phone_index, company = r.company, title = r.title, address = r.address,
				birthday = '', pii = r.pii, need_profile = r.need_profile, tags = r.tags,
				value_tier = CASE WHEN r.value_tier <> '' THEN r.value_tier ELSE c.value_tier END,
				account_manager = CASE WHEN r.account_manager <> '' THEN r.account_manager ELSE c.account_manager END,
				attributes = c.attributes || r.attributes, marketing_consent = r.marketing_consent,
				revision = c.revision + 1, update_time = r.update_time, search_text = r.search_text
			FROM import_rows r
			WHERE c.external_id = r.external_id AND c.merged_into IS NULL AND c.delete_time IS NULL
			RETURNING r.row_no, c.id::text`)
		if err != nil {
			return err
		}
		for updated.Next() {
			var o customer.ImportOutcome
			if err := updated.Scan(&o.Row, &o.ID); err != nil {
				updated.Close()
				return err
			}
			outcomes = append(outcomes, o)
		}
		if err := updated.Err(); err != nil {
			return err
		}
		inserted, err := t.Query(ctx, `
			INSERT INTO customers (id, kind, display_name, email_index, phone_index, company, title, address,
				source, lifecycle_stage, value_tier, need_profile, account_manager, tags, attributes,
				marketing_consent, loyalty_points, membership_tier, external_id, revision,
				create_time, update_time, search_text, pii)
			SELECT id, kind, display_name, email_index, phone_index, company, title, address,
				source, lifecycle_stage, value_tier, need_profile, account_manager, tags, attributes,
				marketing_consent, loyalty_points, membership_tier, external_id, revision,
				create_time, update_time, search_text, pii
			FROM import_rows r
			WHERE NOT EXISTS (SELECT 1 FROM customers c WHERE c.external_id = r.external_id
				AND c.merged_into IS NULL AND c.delete_time IS NULL)
			RETURNING id::text`)
		if err != nil {
			return err
		}
		ids, err := pgx.CollectRows(inserted, pgx.RowTo[string])
		if err != nil {
			return err
		}
		for _, id := range ids {
			outcomes = append(outcomes, customer.ImportOutcome{Row: byID[id], ID: id, Created: true})
		}
		if err := claimImported(ctx, t, outcomes); err != nil {
			return err
		}
		return s.emitImported(ctx, t, outcomes, actor)
	})
	return outcomes, pg.Classify(err)
}

// liveByExternalID maps the batch's external ids to the live customers
// holding them.
func liveByExternalID(ctx context.Context, t pgx.Tx, rows []customer.ImportRow) (map[string]string, error) {
	ext := make([]string, 0, len(rows))
	for _, r := range rows {
		if r.Customer.ExternalID != "" {
			ext = append(ext, r.Customer.ExternalID)
		}
	}
	found, err := t.Query(ctx, `SELECT external_id, id::text FROM customers
		WHERE external_id = ANY($1) AND merged_into IS NULL AND delete_time IS NULL`, ext)
	if err != nil {
		return nil, err
	}
	defer found.Close()
	out := map[string]string{}
	for found.Next() {
		var e, id string
		if err := found.Scan(&e, &id); err != nil {
			return nil, err
		}
		out[e] = id
	}
	return out, found.Err()
}

// rejectContactClashes removes from the batch the rows that would give a
// contact a second owner: one owned by another customer, or one an earlier
// row of the batch lists. The contacts table is locked against concurrent
// claims until the batch commits, so what is checked here still holds
// when the good rows claim their contacts. The clashes are found on blind
// indexes; contacts maps them back to the contacts the errors name.
func rejectContactClashes(ctx context.Context, t pgx.Tx, contacts map[string]string) ([]customer.ImportOutcome, error) {
	if _, err := t.Exec(ctx, `LOCK TABLE contacts IN SHARE ROW EXCLUSIVE MODE`); err != nil {
		return nil, err
	}
	rows, err := t.Query(ctx, `
		WITH targets AS (
			SELECT r.row_no, coalesce(c.id, r.id) AS cid, r.email_index AS emails, r.phone_index AS phones,
				coalesce(c.email_index, '{}') AS had_emails, coalesce(c.phone_index, '{}') AS had_phones
			FROM import_rows r
			LEFT JOIN customers c ON c.external_id = r.external_id AND c.merged_into IS NULL AND c.delete_time IS NULL
		), listed AS (
			SELECT row_no, cid, 'email' AS kind, v AS value, v = ANY(had_emails) AS had FROM targets, unnest(emails) v
			UNION ALL
			SELECT row_no, cid, 'phone', v, v = ANY(had_phones) FROM targets, unnest(phones) v
		), clashes AS (
			SELECT w.row_no, w.kind, w.value, NULL::bigint AS first_row
			FROM listed w JOIN contacts x ON x.kind = w.kind AND x.value = w.value AND x.customer_id <> w.cid
			WHERE NOT w.had
			UNION ALL
			SELECT w.row_no, w.kind, w.value, min(e.row_no)
			FROM listed w JOIN listed e ON e.kind = w.kind AND e.value = w.value AND e.row_no < w.row_no
			GROUP BY w.row_no, w.kind, w.value
		), rejected AS (
			SELECT DISTINCT ON (row_no) row_no, kind, value, first_row FROM clashes
			ORDER BY row_no, first_row NULLS FIRST, kind, value
		)
		DELETE FROM import_rows r USING rejected d WHERE r.row_no = d.row_no
		RETURNING r.row_no, d.kind, d.value, d.first_row`)
	return pg.Collect(rows, err, func(row pgx.Row) (customer.ImportOutcome, error) {
		var (
			o           customer.ImportOutcome
			kind, value string
			first       *int64
		)
		if err := row.Scan(&o.Row, &kind, &value, &first); err != nil {
			return o, err
		}
		o.Field = "customer." + kind + "s"
		value = contacts[value]
		o.Err = fmt.Sprintf("%q belongs to another customer", value)
		if first != nil {
			o.Err = fmt.Sprintf("%q is also listed by row %d of this import", value, *first)
		}
		return o, nil
	})
}

// claimImported gives the imported customers their contacts: claims of
// contacts an updated customer no longer lists pass to whoever else lists
// them, and every listed contact no one owns is claimed.
func claimImported(ctx context.Context, t pgx.Tx, outcomes []customer.ImportOutcome) error {
	var ids []string
	for _, o := range outcomes {
		if o.Err == "" {
			ids = append(ids, o.ID)
		}
	}
	if len(ids) == 0 {
		return nil
	}
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

func (s *Store) emitImported(ctx context.Context, t pgx.Tx, outcomes []customer.ImportOutcome, actor string) error {
	ids := make([]string, 0, len(outcomes))
	created := make(map[string]bool, len(outcomes))
	for _, o := range outcomes {
		if o.Err == "" {
			ids = append(ids, o.ID)
			created[o.ID] = o.Created
		}
	}
	rows, err := t.Query(ctx, `SELECT `+columns+` FROM customers c WHERE c.id = ANY($1::uuid[]) ORDER BY c.id`, ids)
	cs, err := pg.Collect(rows, err, s.crypto.scan(ctx))
	if err != nil {
		return err
	}
	events := make([]event.Event, len(cs))
	for i, c := range cs {
		typ := customer.EventUpdated
		if created[c.ID] {
			typ = customer.EventCreated
		}
		events[i] = event.Event{Type: typ, Subject: c.Name(), Actor: actor, Data: c}
	}
	return s.emitter(t).Emit(ctx, events...)
}

// RefreshStatistics implements customer.Store: ANALYZE samples the tables
// an import fills.
func (s *Store) RefreshStatistics(ctx context.Context) error {
	_, err := s.pool.Exec(ctx, `ANALYZE customers, contacts`)
	return pg.Classify(err)
}
