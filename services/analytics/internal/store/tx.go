package store

import (
	"context"
	"encoding/json"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/kehu-crm/kehu/pkg/customerref"
	"github.com/kehu-crm/kehu/pkg/follow/cursor"
	"github.com/kehu-crm/kehu/pkg/outbox"
	"github.com/kehu-crm/kehu/pkg/pg"
	"github.com/kehu-crm/kehu/services/analytics/internal/insight"
)

// tx implements insight.Tx on one pgx transaction.
type tx struct {
	outbox.Emitter
	tx pgx.Tx
}

var _ insight.Tx = (*tx)(nil)

func (t *tx) Cursor(ctx context.Context, source string) (int64, error) {
	return cursor.Get(ctx, t.tx, source, true)
}

func (t *tx) SetCursor(ctx context.Context, source string, seq int64) error {
	return cursor.Set(ctx, t.tx, source, seq)
}

// UpsertCustomers implements insight.Tx in one statement, which may write
// a row once: of several states of one customer the last is written.
func (t *tx) UpsertCustomers(ctx context.Context, cs []*insight.Customer) error {
	last := make(map[string]int, len(cs))
	for i, c := range cs {
		last[c.ID] = i
	}
	var (
		ids, names, stages, tiers, managers, needs, prices []string
		points                                             []int64
		deleted                                            []bool
		months                                             []int32
	)
	for i, c := range cs {
		if last[c.ID] != i {
			continue
		}
		needsJSON, err := json.Marshal(pg.NonNil(c.Needs))
		if err != nil {
			return err
		}
		ids, names, stages, tiers = append(ids, c.ID), append(names, c.DisplayName), append(stages, c.Stage), append(tiers, c.ValueTier)
		managers, points, deleted = append(managers, c.AccountManager), append(points, c.Points), append(deleted, c.Deleted)
		months, needs, prices = append(months, int32(c.BirthMonth)), append(needs, string(needsJSON)), append(prices, c.PriceSensitivity)
	}
	_, err := t.tx.Exec(ctx, `INSERT INTO customers (id, display_name, lifecycle_stage, value_tier, account_manager, loyalty_points, deleted,
			birth_month, needs, price_sensitivity)
		SELECT id, name, stage, tier, manager, points, deleted, month, ARRAY(SELECT jsonb_array_elements_text(needs)), price
		FROM unnest($1::uuid[], $2::text[], $3::text[], $4::text[], $5::text[], $6::bigint[], $7::bool[], $8::int[], $9::jsonb[], $10::text[])
			AS u(id, name, stage, tier, manager, points, deleted, month, needs, price)
		ON CONFLICT (id) DO UPDATE SET display_name = excluded.display_name, lifecycle_stage = excluded.lifecycle_stage,
			value_tier = excluded.value_tier, account_manager = excluded.account_manager,
			loyalty_points = excluded.loyalty_points, deleted = excluded.deleted,
			birth_month = excluded.birth_month, needs = excluded.needs, price_sensitivity = excluded.price_sensitivity`,
		ids, names, stages, tiers, managers, points, deleted, months, needs, prices)
	return pg.Classify(err)
}

func (t *tx) SetStage(ctx context.Context, id, stage string, manual bool, at time.Time) error {
	_, err := t.tx.Exec(ctx, `UPDATE customers SET lifecycle_stage = $2,
		manual_stage_time = CASE WHEN $3 THEN $4 ELSE manual_stage_time END WHERE id = $1`, id, stage, manual, at)
	return pg.Classify(err)
}

func (t *tx) UpsertRecord(ctx context.Context, r *insight.Record) error {
	_, err := t.tx.Exec(ctx, `INSERT INTO records (id, customer_id, channel, kind, occur_time, amount, currency_code, satisfaction, deleted,
			touchpoint, stage)
		VALUES ($1, $2, $3, $4, $5, $6::numeric, $7, $8, $9, $10, $11)
		ON CONFLICT (id) DO UPDATE SET customer_id = excluded.customer_id, channel = excluded.channel, kind = excluded.kind,
			occur_time = excluded.occur_time, amount = excluded.amount, currency_code = excluded.currency_code,
			satisfaction = excluded.satisfaction, deleted = excluded.deleted, touchpoint = excluded.touchpoint, stage = excluded.stage`,
		r.ID, r.CustomerID, r.Channel, r.Kind, r.OccurTime, pg.NullIfEmpty(r.Amount), r.Currency, r.Satisfaction, r.Deleted, r.Touchpoint, r.Stage)
	return pg.Classify(err)
}

func (t *tx) UpsertTicket(ctx context.Context, k *insight.Ticket) error {
	_, err := t.tx.Exec(ctx, `INSERT INTO tickets (id, customer_id, type, status, create_time, resolve_time, deleted,
			queue, first_response_time, first_response_sla, resolution_sla)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)
		ON CONFLICT (id) DO UPDATE SET customer_id = excluded.customer_id, type = excluded.type, status = excluded.status,
			resolve_time = excluded.resolve_time, deleted = excluded.deleted, queue = excluded.queue,
			first_response_time = excluded.first_response_time, first_response_sla = excluded.first_response_sla,
			resolution_sla = excluded.resolution_sla`,
		k.ID, k.CustomerID, k.Type, k.Status, k.CreateTime, k.ResolveTime, k.Deleted,
		k.Queue, k.FirstResponseTime, k.FirstResponseSLA, k.ResolutionSLA)
	return pg.Classify(err)
}

func (t *tx) UpsertFollowUp(ctx context.Context, f *insight.FollowUp) error {
	_, err := t.tx.Exec(ctx, `INSERT INTO follow_ups (id, customer_id, assignee, care_rule, state, due_time, close_time)
		VALUES ($1, $2, $3, $4, $5, $6, $7)
		ON CONFLICT (id) DO UPDATE SET customer_id = excluded.customer_id, assignee = excluded.assignee, care_rule = excluded.care_rule,
			state = excluded.state, due_time = excluded.due_time, close_time = excluded.close_time`,
		f.ID, f.CustomerID, f.Assignee, f.CareRule, f.State, f.DueTime, f.CloseTime)
	return pg.Classify(err)
}

func (t *tx) UpsertAnswer(ctx context.Context, a *insight.Answer) error {
	_, err := t.tx.Exec(ctx, `INSERT INTO answers (survey_id, ticket_id, customer_id, kind, score, answer_time)
		VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT (survey_id) DO NOTHING`,
		a.SurveyID, a.TicketID, a.CustomerID, a.Kind, a.Score, a.AnswerTime)
	return pg.Classify(err)
}

func (t *tx) MergeCustomers(ctx context.Context, survivor string, merged []string) error {
	// A record moved before (a chain of merges) keeps its first origin:
	// that is the customer an unmerge restores.
	for _, table := range []string{"records", "tickets", "answers", "follow_ups"} {
		if _, err := t.tx.Exec(ctx, `UPDATE `+table+` SET merged_from = coalesce(merged_from, customer_id), customer_id = $1
			WHERE customer_id = ANY($2::uuid[])`, survivor, merged); err != nil {
			return pg.Classify(err)
		}
	}
	_, err := t.tx.Exec(ctx, `DELETE FROM scores WHERE customer_id = ANY($1::uuid[])`, merged)
	return pg.Classify(err)
}

// RecordTransitions implements insight.Tx; a replayed event adds nothing.
func (t *tx) RecordTransitions(ctx context.Context, ts []insight.Transition) error {
	ids, stages, at := make([]string, len(ts)), make([]string, len(ts)), make([]time.Time, len(ts))
	for i, x := range ts {
		ids[i], stages[i], at[i] = x.CustomerID, x.Stage, x.At
	}
	_, err := t.tx.Exec(ctx, `INSERT INTO stage_transitions (customer_id, stage, at)
		SELECT * FROM unnest($1::uuid[], $2::text[], $3::timestamptz[]) ON CONFLICT DO NOTHING`, ids, stages, at)
	return pg.Classify(err)
}

// UnmergeCustomer implements insight.Tx: the records a merge moved from
// restored go back to it.
func (t *tx) UnmergeCustomer(ctx context.Context, survivor, restored string) error {
	for _, table := range []string{"records", "tickets", "answers", "follow_ups"} {
		if _, err := t.tx.Exec(ctx, `UPDATE `+table+` SET customer_id = $2, merged_from = NULL
			WHERE customer_id = $1 AND merged_from = $2`, survivor, restored); err != nil {
			return pg.Classify(err)
		}
	}
	return nil
}

// Advisory lock classes (the two-key form, apart from the one-key locks
// of leader election): one key for whole-model evaluations, one per
// customer.
const (
	evaluationLock = 0x4b656875 // "Kehu"
	customerLock   = 0x4b656876
)

// LockCustomers implements insight.Tx: shared on whole-model evaluations,
// exclusive per customer, in key order so two transactions cannot
// deadlock. In READ COMMITTED a statement after the wait sees what the
// holder committed, so two events of one customer from different streams
// re-evaluate it one after the other, the second seeing both.
func (t *tx) LockCustomers(ctx context.Context, ids []string) error {
	if _, err := t.tx.Exec(ctx, `SELECT pg_advisory_xact_lock_shared($1, 0)`, evaluationLock); err != nil {
		return pg.Classify(err)
	}
	_, err := t.tx.Exec(ctx, `SELECT pg_advisory_xact_lock($1, k) FROM (
		SELECT DISTINCT hashtext(id) AS k FROM unnest($2::text[]) id ORDER BY 1) keys`, customerLock, ids)
	return pg.Classify(err)
}

// LockEvaluation implements insight.Tx: exclusive, waiting for the
// customers' transactions in flight and holding new ones back.
func (t *tx) LockEvaluation(ctx context.Context) error {
	_, err := t.tx.Exec(ctx, `SELECT pg_advisory_xact_lock($1, 0)`, evaluationLock)
	return pg.Classify(err)
}

// resetSQL forgets a source's contribution: customers are marked gone
// (the snapshot brings the live ones back, keeping what analytics itself
// recorded about them), records, tickets and answers are dropped.
var resetSQL = map[string][]string{
	insight.SourceCustomer:    {`UPDATE customers SET deleted = true`},
	insight.SourceInteraction: {`DELETE FROM records`, `DELETE FROM follow_ups`},
	insight.SourceServiceDesk: {`DELETE FROM tickets`, `DELETE FROM answers`},
}

// ResetSource implements insight.Tx.
func (t *tx) ResetSource(ctx context.Context, source string) error {
	statements, ok := resetSQL[source]
	if !ok {
		return fmt.Errorf("reset: unknown source %q", source)
	}
	for _, sql := range statements {
		if _, err := t.tx.Exec(ctx, sql); err != nil {
			return pg.Classify(err)
		}
	}
	return nil
}

func (t *tx) EraseCustomer(ctx context.Context, id string) error {
	for _, sql := range []string{
		`DELETE FROM records WHERE customer_id = $1`,
		`DELETE FROM tickets WHERE customer_id = $1`,
		`DELETE FROM answers WHERE customer_id = $1`,
		`DELETE FROM scores WHERE customer_id = $1`,
		`DELETE FROM stage_transitions WHERE customer_id = $1`,
		`DELETE FROM follow_ups WHERE customer_id = $1`,
		// What the lifecycle pass assessed and proposed about the customer
		// is personal data too, and nothing reads it without the customer.
		`DELETE FROM churn WHERE customer_id = $1`,
		`DELETE FROM retention_visits WHERE customer_id = $1`,
		`DELETE FROM stage_proposals WHERE customer_id = $1`,
		`DELETE FROM tier_proposals WHERE customer_id = $1`,
		// Memberships stay: re-evaluating the customer removes them with
		// segment.exited events.
		`DELETE FROM customers WHERE id = $1`,
	} {
		if _, err := t.tx.Exec(ctx, sql, id); err != nil {
			return pg.Classify(err)
		}
	}
	// The segments the customer entered and left say who they were (high
	// value, dissatisfied, birthday this month); the exits the purge
	// emits next keep theirs, so followers still drop the memberships.
	if _, err := outbox.Erase(ctx, t.tx, customerref.Name(id)); err != nil {
		return pg.Classify(err)
	}
	return nil
}

// SetChurns implements insight.Tx in three statements however many
// customers there are (a statement each per customer was most of what
// analytics did per followed event, docs/benchmarks.md).
func (t *tx) SetChurns(ctx context.Context, cs []insight.Churn, over []bool, at time.Time) ([]bool, error) {
	ids, managers, values := make([]string, len(cs)), make([]string, len(cs)), make([]string, len(cs))
	scores, reasons := make([]int32, len(cs)), make([]string, len(cs))
	for i, c := range cs {
		r, err := json.Marshal(pg.NonNil(c.Reasons))
		if err != nil {
			return nil, err
		}
		ids[i], managers[i], values[i], scores[i], reasons[i] = c.CustomerID, c.AccountManager, c.ValueAtRisk, int32(c.Score), string(r)
	}
	// The rows exist before they are locked, so that concurrent first
	// assessments of a customer take turns too (the second insert waits
	// for the first to commit) and only one of them sees the crossing.
	// Both statements go in customer order, so that two passes over
	// overlapping customers wait for each other rather than deadlock.
	if _, err := t.tx.Exec(ctx, `INSERT INTO churn (customer_id, score, update_time)
		SELECT id, 0, $2 FROM unnest($1::uuid[]) AS id ORDER BY id ON CONFLICT DO NOTHING`, ids, at); err != nil {
		return nil, pg.Classify(err)
	}
	rows, err := t.tx.Query(ctx, `SELECT customer_id::text, warned FROM churn WHERE customer_id = ANY($1::uuid[])
		ORDER BY customer_id FOR UPDATE`, ids)
	if err != nil {
		return nil, pg.Classify(err)
	}
	warned := make(map[string]bool, len(cs))
	var id string
	var w bool
	if _, err := pgx.ForEachRow(rows, []any{&id, &w}, func() error {
		warned[id] = w
		return nil
	}); err != nil {
		return nil, pg.Classify(err)
	}
	if _, err := t.tx.Exec(ctx, `
		INSERT INTO churn (customer_id, score, reasons, value_at_risk, account_manager, warned, update_time)
		SELECT id, score, ARRAY(SELECT jsonb_array_elements_text(reasons)), value::numeric, manager, over, $7
		FROM unnest($1::uuid[], $2::int[], $3::jsonb[], $4::text[], $5::text[], $6::bool[])
			AS u(id, score, reasons, value, manager, over)
		ON CONFLICT (customer_id) DO UPDATE SET score = excluded.score, reasons = excluded.reasons,
			value_at_risk = excluded.value_at_risk, account_manager = excluded.account_manager,
			warned = excluded.warned, update_time = excluded.update_time`,
		ids, scores, reasons, values, managers, over, at); err != nil {
		return nil, pg.Classify(err)
	}
	crossed := make([]bool, len(cs))
	for i, c := range cs {
		crossed[i] = over[i] && !warned[c.CustomerID]
	}
	return crossed, nil
}

func (t *tx) OweRetentionVisit(ctx context.Context, v insight.RetentionVisit) error {
	_, err := t.tx.Exec(ctx, `INSERT INTO retention_visits (customer_id, crossing_time, assignee, purpose) VALUES ($1, $2, $3, $4)
		ON CONFLICT DO NOTHING`, v.CustomerID, v.Crossing, v.Assignee, v.Purpose)
	return pg.Classify(err)
}
