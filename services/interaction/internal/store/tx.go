package store

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/kehu-crm/kehu/pkg/customerref/erased"
	"github.com/kehu-crm/kehu/pkg/errs"
	"github.com/kehu-crm/kehu/pkg/filter"
	"github.com/kehu-crm/kehu/pkg/follow/cursor"
	"github.com/kehu-crm/kehu/pkg/idempotency/keystore"
	"github.com/kehu-crm/kehu/pkg/outbox"
	"github.com/kehu-crm/kehu/pkg/pg"
	"github.com/kehu-crm/kehu/services/interaction/internal/interaction"
)

// tx implements interaction.Tx on one pgx transaction; request ids and
// events are the platform's.
type tx struct {
	keystore.Keys
	outbox.Emitter
	tx pgx.Tx
}

var _ interaction.Tx = (*tx)(nil)

func (t *tx) LockInteraction(ctx context.Context, id string) (*interaction.Interaction, error) {
	return getInteraction(ctx, t.tx, id, true)
}

func amountArgs(m *interaction.Money) (any, string) {
	if m == nil {
		return nil, ""
	}
	return m.Amount, m.Currency
}

// InsertInteractions uses COPY: a batch from an integration is one round
// trip however large it is.
func (t *tx) InsertInteractions(ctx context.Context, is ...*interaction.Interaction) error {
	customers := make([]string, 0, 1)
	for _, i := range is {
		if !slices.Contains(customers, i.CustomerID) {
			customers = append(customers, i.CustomerID)
		}
	}
	if err := erased.Check(ctx, t.tx, customers...); err != nil {
		return err
	}
	if len(is) == 1 {
		i := is[0]
		amount, currency := amountArgs(i.Amount)
		_, err := t.tx.Exec(ctx, `INSERT INTO interactions (id, customer_id, channel, direction, kind, occur_time,
			duration_ms, subject, summary, agent, touchpoint_id, satisfaction, sentiment, amount, currency_code,
			order_reference, product_categories, lifecycle_stage, follow_up_id, revision, create_time, update_time)
			VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14::numeric, $15, $16, $17, $18, $19, $20, $21, $22)`,
			i.ID, i.CustomerID, i.Channel, i.Direction, i.Kind, i.OccurTime, i.Duration.Milliseconds(), i.Subject, i.Summary,
			i.Agent, pg.NullIfEmpty(i.Touchpoint), i.Satisfaction, i.Sentiment, amount, currency, i.OrderReference,
			pg.NonNil(i.ProductCategories), i.Stage, pg.NullIfEmpty(i.FollowUpID), i.Revision, i.CreateTime, i.UpdateTime)
		return pg.Classify(err)
	}
	_, err := t.tx.CopyFrom(ctx, pgx.Identifier{"interactions"},
		[]string{"id", "customer_id", "channel", "direction", "kind", "occur_time", "duration_ms", "subject", "summary",
			"agent", "touchpoint_id", "satisfaction", "sentiment", "amount", "currency_code", "order_reference",
			"product_categories", "lifecycle_stage", "revision", "create_time", "update_time"},
		pgx.CopyFromSlice(len(is), func(n int) ([]any, error) {
			i := is[n]
			amount, currency := amountArgs(i.Amount)
			return []any{i.ID, i.CustomerID, i.Channel, i.Direction, i.Kind, i.OccurTime, i.Duration.Milliseconds(),
				i.Subject, i.Summary, i.Agent, pg.NullIfEmpty(i.Touchpoint), int16(i.Satisfaction), i.Sentiment, amount, currency,
				i.OrderReference, pg.NonNil(i.ProductCategories), i.Stage, i.Revision, i.CreateTime, i.UpdateTime}, nil
		}))
	return pg.Classify(err)
}

func (t *tx) UpdateInteraction(ctx context.Context, i *interaction.Interaction) error {
	amount, currency := amountArgs(i.Amount)
	_, err := t.tx.Exec(ctx, `UPDATE interactions SET channel = $2, direction = $3, kind = $4, occur_time = $5,
		duration_ms = $6, subject = $7, summary = $8, agent = $9, touchpoint_id = $10, satisfaction = $11,
		sentiment = $12, amount = $13::numeric, currency_code = $14, order_reference = $15, product_categories = $16,
		follow_up_id = $17, revision = $18, update_time = $19, delete_time = $20
		WHERE id = $1`,
		i.ID, i.Channel, i.Direction, i.Kind, i.OccurTime, i.Duration.Milliseconds(), i.Subject, i.Summary, i.Agent,
		pg.NullIfEmpty(i.Touchpoint), i.Satisfaction, i.Sentiment, amount, currency, i.OrderReference,
		pg.NonNil(i.ProductCategories), pg.NullIfEmpty(i.FollowUpID), i.Revision, i.UpdateTime, i.DeleteTime)
	return pg.Classify(err)
}

func (t *tx) LockFollowUp(ctx context.Context, id string) (*interaction.FollowUp, error) {
	return getFollowUp(ctx, t.tx, id, true)
}

func (t *tx) InsertFollowUp(ctx context.Context, f *interaction.FollowUp) error {
	if err := erased.Check(ctx, t.tx, f.CustomerID); err != nil {
		return err
	}
	_, err := t.tx.Exec(ctx, `INSERT INTO follow_ups (id, customer_id, purpose, channel, assignee, due_time,
		recurrence_interval, recurrence_unit, state, interaction_id, care_rule_id, previous_id, cancel_reason,
		message, close_time, revision, create_time, update_time)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18)`,
		f.ID, f.CustomerID, f.Purpose, f.Channel, f.Assignee, f.DueTime, f.Recurrence.Interval, f.Recurrence.Unit,
		f.State, pg.NullIfEmpty(f.InteractionID), pg.NullIfEmpty(f.CareRuleID), pg.NullIfEmpty(f.PreviousID), f.CancelReason,
		f.Message, f.CloseTime, f.Revision, f.CreateTime, f.UpdateTime)
	return pg.Classify(err)
}

func (t *tx) UpdateFollowUp(ctx context.Context, f *interaction.FollowUp) error {
	_, err := t.tx.Exec(ctx, `UPDATE follow_ups SET purpose = $2, channel = $3, assignee = $4, due_time = $5,
		recurrence_interval = $6, recurrence_unit = $7, state = $8, interaction_id = $9, cancel_reason = $10,
		message = $11, close_time = $12, revision = $13, update_time = $14
		WHERE id = $1`,
		f.ID, f.Purpose, f.Channel, f.Assignee, f.DueTime, f.Recurrence.Interval, f.Recurrence.Unit, f.State,
		pg.NullIfEmpty(f.InteractionID), f.CancelReason, f.Message, f.CloseTime, f.Revision, f.UpdateTime)
	return pg.Classify(err)
}

func (t *tx) LockCareRule(ctx context.Context, id string) (*interaction.CareRule, error) {
	return pg.One(t.tx.QueryRow(ctx, `SELECT `+careRuleColumns+` FROM care_rules r WHERE r.id = $1 FOR UPDATE`, id), scanCareRule, interaction.CareRuleName(id))
}

func (t *tx) InsertCareRule(ctx context.Context, r *interaction.CareRule) error {
	_, err := t.tx.Exec(ctx, `INSERT INTO care_rules (id, display_name, occasion, dates, lead_days, channel,
		message_template, customer_filter, fallback_assignee, active, revision, create_time, update_time)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13)`,
		r.ID, r.DisplayName, r.Occasion, pg.NonNil(r.Dates), r.LeadDays, r.Channel, r.MessageTemplate, r.CustomerFilter,
		r.FallbackAssignee, r.Active, r.Revision, r.CreateTime, r.UpdateTime)
	if pg.ConstraintName(err) == "care_rules_pkey" {
		return errs.AlreadyExists("CARE_RULE_EXISTS", "%s already exists", interaction.CareRuleName(r.ID))
	}
	return pg.Classify(err)
}

func (t *tx) UpdateCareRule(ctx context.Context, r *interaction.CareRule) error {
	_, err := t.tx.Exec(ctx, `UPDATE care_rules SET display_name = $2, occasion = $3, dates = $4, lead_days = $5,
		channel = $6, message_template = $7, customer_filter = $8, fallback_assignee = $9, active = $10,
		revision = $11, update_time = $12 WHERE id = $1`,
		r.ID, r.DisplayName, r.Occasion, pg.NonNil(r.Dates), r.LeadDays, r.Channel, r.MessageTemplate, r.CustomerFilter,
		r.FallbackAssignee, r.Active, r.Revision, r.UpdateTime)
	return pg.Classify(err)
}

func (t *tx) DeleteCareRule(ctx context.Context, id string) error {
	_, err := t.tx.Exec(ctx, `DELETE FROM care_rules WHERE id = $1`, id)
	return pg.Classify(err)
}

func (t *tx) LockTouchpoint(ctx context.Context, id string) (*interaction.Touchpoint, error) {
	return pg.One(t.tx.QueryRow(ctx, `SELECT `+touchpointColumns+` FROM touchpoints t WHERE t.id = $1 FOR UPDATE`, id), scanTouchpoint, interaction.TouchpointName(id))
}

func (t *tx) InsertTouchpoint(ctx context.Context, tp *interaction.Touchpoint) error {
	_, err := t.tx.Exec(ctx, `INSERT INTO touchpoints (id, display_name, channel, journey_stage, description,
		revision, create_time, update_time) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)`,
		tp.ID, tp.DisplayName, tp.Channel, tp.JourneyStage, tp.Description, tp.Revision, tp.CreateTime, tp.UpdateTime)
	if pg.ConstraintName(err) == "touchpoints_pkey" {
		return errs.AlreadyExists("TOUCHPOINT_EXISTS", "%s already exists", interaction.TouchpointName(tp.ID))
	}
	return pg.Classify(err)
}

func (t *tx) UpdateTouchpoint(ctx context.Context, tp *interaction.Touchpoint) error {
	_, err := t.tx.Exec(ctx, `UPDATE touchpoints SET display_name = $2, channel = $3, journey_stage = $4,
		description = $5, revision = $6, update_time = $7 WHERE id = $1`,
		tp.ID, tp.DisplayName, tp.Channel, tp.JourneyStage, tp.Description, tp.Revision, tp.UpdateTime)
	return pg.Classify(err)
}

func (t *tx) DeleteTouchpoint(ctx context.Context, id string) error {
	var used int64
	if err := t.tx.QueryRow(ctx, `SELECT count(*) FROM interactions WHERE touchpoint_id = $1`, id).Scan(&used); err != nil {
		return pg.Classify(err)
	}
	if used > 0 {
		return errs.FailedPrecondition("TOUCHPOINT_IN_USE", "%s is referenced by %d interactions", interaction.TouchpointName(id), used)
	}
	_, err := t.tx.Exec(ctx, `DELETE FROM touchpoints WHERE id = $1`, id)
	return pg.Classify(err)
}

// SweepMissed claims overdue planned follow-ups with SKIP LOCKED, so two
// replicas sweeping at once never mark the same one twice.
func (t *tx) SweepMissed(ctx context.Context, cutoff, now time.Time, limit int) ([]*interaction.FollowUp, error) {
	rows, err := t.tx.Query(ctx, `
		UPDATE follow_ups f SET state = 'MISSED', close_time = $2, update_time = $2, revision = f.revision + 1
		WHERE f.id IN (
			SELECT id FROM follow_ups WHERE state = 'PLANNED' AND due_time < $1
			ORDER BY due_time LIMIT $3 FOR UPDATE SKIP LOCKED)
		RETURNING `+followUpColumns, cutoff, now, limit)
	return pg.Collect(rows, err, scanFollowUp)
}

// GenerateCare finds, set-based, the customers whose occasion falls on a
// day in [from, to] and who have no follow-up for that occurrence yet, and
// creates them. care_occurrences' primary key makes each (rule, customer,
// occurrence) happen once even when two generators race: the loser's
// insert does nothing and it creates no follow-up.
func (t *tx) GenerateCare(ctx context.Context, r *interaction.CareRule, from, to time.Time, loc *time.Location, now time.Time, limit int) ([]*interaction.FollowUp, error) {
	w := &filter.Where{}
	day := func(t time.Time) string { return t.In(loc).Format("2006-01-02") }
	pFrom, pTo := w.Arg(day(from)), w.Arg(day(to))
	var match string
	switch r.Occasion {
	case interaction.OccasionBirthday:
		// "YYYY-MM-DD" and "--MM-DD" both end in MM-DD; a 29 February
		// birthday is celebrated on 28 February in other years.
		match = `(right(c.birthday, 5) = to_char(d.day, 'MM-DD')
			OR (right(c.birthday, 5) = '02-29' AND to_char(d.day, 'MM-DD') = '02-28'
				AND NOT (extract(year FROM d.day)::int % 4 = 0 AND (extract(year FROM d.day)::int % 100 <> 0 OR extract(year FROM d.day)::int % 400 = 0))))`
	case interaction.OccasionAnniversary:
		since := fmt.Sprintf("(c.customer_since AT TIME ZONE %s)", w.Arg(loc.String()))
		match = fmt.Sprintf(`c.customer_since IS NOT NULL AND extract(year FROM d.day) > extract(year FROM %[1]s)
			AND (to_char(%[1]s, 'MM-DD') = to_char(d.day, 'MM-DD')
				OR (to_char(%[1]s, 'MM-DD') = '02-29' AND to_char(d.day, 'MM-DD') = '02-28'
					AND NOT (extract(year FROM d.day)::int %% 4 = 0 AND (extract(year FROM d.day)::int %% 100 <> 0 OR extract(year FROM d.day)::int %% 400 = 0))))`, since)
	case interaction.OccasionFixedDate:
		var yearly, specific []string
		for _, d := range r.Dates {
			if len(d) == 5 {
				yearly = append(yearly, d)
			} else {
				specific = append(specific, d)
			}
		}
		match = fmt.Sprintf(`(to_char(d.day, 'MM-DD') = ANY(%s::text[]) OR d.day = ANY(%s::date[]))`, w.Arg(pg.NonNil(yearly)), w.Arg(pg.NonNil(specific)))
	default:
		return nil, errs.Internal(fmt.Errorf("care rule %s: unknown occasion %q", r.ID, r.Occasion))
	}
	w.Add(match)
	w.Add("NOT c.deleted AND c.merged_into IS NULL")
	if err := w.Filter(r.CustomerFilter, customerFields); err != nil {
		return nil, err
	}
	pRule, pLead := w.Arg(r.ID), w.Arg(r.LeadDays)
	pTZ, pNow := w.Arg(loc.String()), w.Arg(now)
	pChannel, pTemplate, pFallback := w.Arg(r.Channel), w.Arg(r.MessageTemplate), w.Arg(r.FallbackAssignee)
	pPurpose, pLimit := w.Arg(r.DisplayName), w.Arg(limit)
	sql := fmt.Sprintf(`
		WITH candidates AS (
			SELECT c.id AS customer_id, c.display_name, c.account_manager, d.day
			FROM customers c
			CROSS JOIN generate_series(%[1]s::date, %[2]s::date, interval '1 day') AS d(day)
			WHERE %[3]s
			  AND NOT EXISTS (SELECT 1 FROM care_occurrences o
			                  WHERE o.care_rule_id = %[4]s AND o.customer_id = c.id AND o.occurrence = d.day::date)
			ORDER BY d.day, c.id
			LIMIT %[12]s
		), claimed AS (
			INSERT INTO care_occurrences (care_rule_id, customer_id, occurrence, follow_up_id)
			SELECT %[4]s, customer_id, day::date, gen_random_uuid() FROM candidates
			ON CONFLICT DO NOTHING
			RETURNING customer_id, occurrence, follow_up_id
		)
		INSERT INTO follow_ups AS f (id, customer_id, purpose, channel, assignee, due_time, state, care_rule_id,
			message, revision, create_time, update_time)
		SELECT cl.follow_up_id, cl.customer_id, %[11]s, %[8]s,
			coalesce(nullif(ca.account_manager, ''), %[10]s),
			greatest(((cl.occurrence - %[5]s::int) + time '09:00') AT TIME ZONE %[6]s, %[7]s::timestamptz),
			'PLANNED', %[4]s, replace(%[9]s, '{{display_name}}', ca.display_name), 1, %[7]s, %[7]s
		FROM claimed cl JOIN candidates ca ON ca.customer_id = cl.customer_id AND ca.day::date = cl.occurrence
		RETURNING `+followUpColumns,
		pFrom, pTo, w.SQL(), pRule, pLead, pTZ, pNow, pChannel, pTemplate, pFallback, pPurpose, pLimit)
	rows, err := t.tx.Query(ctx, sql, w.Args()...)
	return pg.Collect(rows, err, scanFollowUp)
}

// UpsertCustomers records the latest state of customers (of a birthday
// only the month and day), in one statement; a snapshot older than what is stored (redelivery) changes
// nothing. A statement may write a row once: of several snapshots of one
// customer only the latest is written.
func (t *tx) UpsertCustomers(ctx context.Context, cs []interaction.CustomerAt) error {
	latest := make(map[string]int, len(cs))
	for i, c := range cs {
		if j, ok := latest[c.ID]; !ok || cs[j].Sequence < c.Sequence {
			latest[c.ID] = i
		}
	}
	var (
		ids, names, kinds, sources, stages, tiers, managers, tags, birthdays, merged []string
		since                                                                        []*time.Time
		deleted                                                                      []bool
		seqs                                                                         []int64
	)
	for i, c := range cs {
		if latest[c.ID] != i {
			continue
		}
		tagsJSON, err := json.Marshal(pg.NonNil(c.Tags))
		if err != nil {
			return err
		}
		var at *time.Time
		if !c.Since.IsZero() {
			at = &c.Since
		}
		ids, names, kinds, sources = append(ids, c.ID), append(names, c.DisplayName), append(kinds, c.Kind), append(sources, c.Source)
		stages, tiers, managers = append(stages, c.Stage), append(tiers, c.ValueTier), append(managers, c.AccountManager)
		tags, birthdays, since = append(tags, string(tagsJSON)), append(birthdays, monthDay(c.Birthday)), append(since, at)
		deleted, merged, seqs = append(deleted, c.Deleted), append(merged, c.MergedInto), append(seqs, c.Sequence)
	}
	_, err := t.tx.Exec(ctx, `
		INSERT INTO customers (id, display_name, kind, source, lifecycle_stage, value_tier, account_manager, tags,
			birthday, customer_since, deleted, merged_into, event_sequence)
		SELECT id, display_name, kind, source, stage, tier, manager, ARRAY(SELECT jsonb_array_elements_text(tags)),
			birthday, since, deleted, NULLIF(merged_into, '')::uuid, seq
		FROM unnest($1::uuid[], $2::text[], $3::text[], $4::text[], $5::text[], $6::text[], $7::text[], $8::jsonb[],
			$9::text[], $10::timestamptz[], $11::bool[], $12::text[], $13::bigint[])
			AS u(id, display_name, kind, source, stage, tier, manager, tags, birthday, since, deleted, merged_into, seq)
		ON CONFLICT (id) DO UPDATE SET display_name = excluded.display_name, kind = excluded.kind,
			source = excluded.source, lifecycle_stage = excluded.lifecycle_stage, value_tier = excluded.value_tier,
			account_manager = excluded.account_manager, tags = excluded.tags, birthday = excluded.birthday,
			customer_since = excluded.customer_since, deleted = excluded.deleted,
			merged_into = coalesce(excluded.merged_into, customers.merged_into), event_sequence = excluded.event_sequence
		WHERE customers.event_sequence < excluded.event_sequence`,
		ids, names, kinds, sources, stages, tiers, managers, tags, birthdays, since, deleted, merged, seqs)
	return pg.Classify(err)
}

// monthDay keeps of a birthday ("YYYY-MM-DD" or "--MM-DD") the month and
// day, as "--MM-DD": all care greetings need (migrations/0003).
func monthDay(birthday string) string {
	if len(birthday) < 5 {
		return ""
	}
	return "--" + birthday[len(birthday)-5:]
}

func (t *tx) SetCustomerStage(ctx context.Context, id, stage string, seq int64) error {
	_, err := t.tx.Exec(ctx, `UPDATE customers SET lifecycle_stage = $2, event_sequence = $3
		WHERE id = $1 AND event_sequence < $3`, id, stage, seq)
	return pg.Classify(err)
}

// MoveCustomerRecords re-parents the merged customers' records. Care
// occurrences the survivor already has are dropped from the merged side,
// so the survivor is not greeted twice for one occasion.
func (t *tx) MoveCustomerRecords(ctx context.Context, survivor string, merged []string, seq int64) (int64, int64, error) {
	// Each moved record remembers where it came from, for an unmerge.
	ti, err := t.tx.Exec(ctx, `
		WITH moved AS (
			UPDATE interactions i SET customer_id = $1 FROM interactions o
			WHERE i.id = o.id AND o.customer_id = ANY($2::uuid[])
			RETURNING i.id, o.customer_id AS from_customer)
		INSERT INTO record_moves (record_kind, record_id, from_customer, to_customer, move_sequence)
		SELECT 'interaction', id, from_customer, $1, $3 FROM moved`, survivor, merged, seq)
	if err != nil {
		return 0, 0, pg.Classify(err)
	}
	tf, err := t.tx.Exec(ctx, `
		WITH moved AS (
			UPDATE follow_ups f SET customer_id = $1 FROM follow_ups o
			WHERE f.id = o.id AND o.customer_id = ANY($2::uuid[])
			RETURNING f.id, o.customer_id AS from_customer)
		INSERT INTO record_moves (record_kind, record_id, from_customer, to_customer, move_sequence)
		SELECT 'follow_up', id, from_customer, $1, $3 FROM moved`, survivor, merged, seq)
	if err != nil {
		return 0, 0, pg.Classify(err)
	}
	if _, err := t.tx.Exec(ctx, `
		DELETE FROM care_occurrences m WHERE m.customer_id = ANY($2::uuid[])
		AND (EXISTS (SELECT 1 FROM care_occurrences s WHERE s.care_rule_id = m.care_rule_id AND s.occurrence = m.occurrence AND s.customer_id = $1)
		     OR m.ctid <> (SELECT min(o.ctid) FROM care_occurrences o WHERE o.care_rule_id = m.care_rule_id AND o.occurrence = m.occurrence AND o.customer_id = ANY($2::uuid[])))`,
		survivor, merged); err != nil {
		return 0, 0, pg.Classify(err)
	}
	if _, err := t.tx.Exec(ctx, `UPDATE care_occurrences SET customer_id = $1 WHERE customer_id = ANY($2::uuid[])`, survivor, merged); err != nil {
		return 0, 0, pg.Classify(err)
	}
	if _, err := t.tx.Exec(ctx, `UPDATE customers SET merged_into = $1, deleted = true WHERE id = ANY($2::uuid[])`, survivor, merged); err != nil {
		return 0, 0, pg.Classify(err)
	}
	return ti.RowsAffected(), tf.RowsAffected(), nil
}

// EraseCustomer deletes every record of a purged customer and blanks the
// payloads of their events.
func (t *tx) EraseCustomer(ctx context.Context, id string) (int64, error) {
	if err := erased.Record(ctx, t.tx, id); err != nil {
		return 0, err
	}
	var n int64
	for _, sql := range []string{
		`DELETE FROM interactions WHERE customer_id = $1`,
		`DELETE FROM follow_ups WHERE customer_id = $1`,
		`DELETE FROM care_occurrences WHERE customer_id = $1`,
		// Which records a merge moved to or from the customer: no unmerge
		// can follow a purge, and the pairs tie the customer to another.
		`DELETE FROM record_moves WHERE from_customer = $1 OR to_customer = $1`,
		`DELETE FROM customers WHERE id = $1`,
	} {
		tag, err := t.tx.Exec(ctx, sql, id)
		if err != nil {
			return 0, pg.Classify(err)
		}
		n += tag.RowsAffected()
	}
	if _, err := outbox.Erase(ctx, t.tx, interaction.CustomerName(id)); err != nil {
		return 0, pg.Classify(err)
	}
	return n, nil
}

func (t *tx) Cursor(ctx context.Context, stream string) (int64, error) {
	return cursor.Get(ctx, t.tx, stream, true)
}

func (t *tx) SetCursor(ctx context.Context, stream string, seq int64) error {
	return cursor.Set(ctx, t.tx, stream, seq)
}
