// Package store implements the interaction domain's Store on PostgreSQL
// with pgx. It is the only package of the service that speaks SQL; it
// returns domain types and errs errors, never pgx types.
package store

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/kehu-crm/kehu/pkg/filter"
	"github.com/kehu-crm/kehu/pkg/follow/cursor"
	"github.com/kehu-crm/kehu/pkg/idempotency/keystore"
	"github.com/kehu-crm/kehu/pkg/outbox"
	"github.com/kehu-crm/kehu/pkg/pg"
	"github.com/kehu-crm/kehu/services/interaction/internal/interaction"
)

// Store is the PostgreSQL implementation of interaction.Store.
type Store struct {
	pool  *pgxpool.Pool
	codec outbox.Codec
}

var _ interaction.Store = (*Store)(nil)

// New returns a Store on a pool whose search_path is the interaction schema.
func New(pool *pgxpool.Pool, codec outbox.Codec) *Store { return &Store{pool: pool, codec: codec} }

const interactionColumns = `i.id::text, i.customer_id::text, i.channel, i.direction, i.kind, i.occur_time,
	i.duration_ms, i.subject, i.summary, i.agent, coalesce(i.touchpoint_id, ''), i.satisfaction, i.sentiment,
	i.amount::text, i.currency_code, i.order_reference, i.product_categories, i.lifecycle_stage,
	coalesce(i.follow_up_id::text, ''), i.revision, i.create_time, i.update_time, i.delete_time`

func scanInteraction(row pgx.Row) (*interaction.Interaction, error) {
	var (
		i        interaction.Interaction
		ms       int64
		amount   *string
		currency string
	)
	err := row.Scan(&i.ID, &i.CustomerID, &i.Channel, &i.Direction, &i.Kind, &i.OccurTime,
		&ms, &i.Subject, &i.Summary, &i.Agent, &i.Touchpoint, &i.Satisfaction, &i.Sentiment,
		&amount, &currency, &i.OrderReference, &i.ProductCategories, &i.Stage,
		&i.FollowUpID, &i.Revision, &i.CreateTime, &i.UpdateTime, &i.DeleteTime)
	if err != nil {
		return nil, err
	}
	i.Duration = time.Duration(ms) * time.Millisecond
	if amount != nil {
		i.Amount = &interaction.Money{Currency: currency, Amount: pg.Decimal(*amount)}
	}
	i.OccurTime, i.CreateTime, i.UpdateTime = i.OccurTime.UTC(), i.CreateTime.UTC(), i.UpdateTime.UTC()
	if i.DeleteTime != nil {
		t := i.DeleteTime.UTC()
		i.DeleteTime = &t
	}
	return &i, nil
}

const followUpColumns = `f.id::text, f.customer_id::text, f.purpose, f.channel, f.assignee, f.due_time,
	f.recurrence_interval, f.recurrence_unit, f.state, coalesce(f.interaction_id::text, ''),
	coalesce(f.care_rule_id, ''), coalesce(f.previous_id::text, ''), f.cancel_reason, f.message,
	f.close_time, f.revision, f.create_time, f.update_time`

func scanFollowUp(row pgx.Row) (*interaction.FollowUp, error) {
	var f interaction.FollowUp
	err := row.Scan(&f.ID, &f.CustomerID, &f.Purpose, &f.Channel, &f.Assignee, &f.DueTime,
		&f.Recurrence.Interval, &f.Recurrence.Unit, &f.State, &f.InteractionID,
		&f.CareRuleID, &f.PreviousID, &f.CancelReason, &f.Message,
		&f.CloseTime, &f.Revision, &f.CreateTime, &f.UpdateTime)
	if err != nil {
		return nil, err
	}
	f.DueTime, f.CreateTime, f.UpdateTime = f.DueTime.UTC(), f.CreateTime.UTC(), f.UpdateTime.UTC()
	if f.CloseTime != nil {
		t := f.CloseTime.UTC()
		f.CloseTime = &t
	}
	return &f, nil
}

const careRuleColumns = `r.id, r.display_name, r.occasion, r.dates, r.lead_days, r.channel, r.message_template,
	r.customer_filter, r.fallback_assignee, r.active, r.revision, r.create_time, r.update_time`

func scanCareRule(row pgx.Row) (*interaction.CareRule, error) {
	var r interaction.CareRule
	err := row.Scan(&r.ID, &r.DisplayName, &r.Occasion, &r.Dates, &r.LeadDays, &r.Channel, &r.MessageTemplate,
		&r.CustomerFilter, &r.FallbackAssignee, &r.Active, &r.Revision, &r.CreateTime, &r.UpdateTime)
	if err != nil {
		return nil, err
	}
	r.CreateTime, r.UpdateTime = r.CreateTime.UTC(), r.UpdateTime.UTC()
	return &r, nil
}

const touchpointColumns = `t.id, t.display_name, t.channel, t.journey_stage, t.description, t.revision, t.create_time, t.update_time`

func scanTouchpoint(row pgx.Row) (*interaction.Touchpoint, error) {
	var t interaction.Touchpoint
	err := row.Scan(&t.ID, &t.DisplayName, &t.Channel, &t.JourneyStage, &t.Description, &t.Revision, &t.CreateTime, &t.UpdateTime)
	if err != nil {
		return nil, err
	}
	t.CreateTime, t.UpdateTime = t.CreateTime.UTC(), t.UpdateTime.UTC()
	return &t, nil
}

func getInteraction(ctx context.Context, q pg.Querier, id string, lock bool) (*interaction.Interaction, error) {
	sql := `SELECT ` + interactionColumns + ` FROM interactions i WHERE i.id = $1`
	if lock {
		sql += ` FOR UPDATE`
	}
	return pg.One(q.QueryRow(ctx, sql, id), scanInteraction, "interactions/"+id)
}

// GetInteraction implements interaction.Store.
func (s *Store) GetInteraction(ctx context.Context, id string) (*interaction.Interaction, error) {
	return getInteraction(ctx, s.pool, id, false)
}

// scopeSQL limits rows to an agent's: handled by them, or of a customer
// the projection knows to be managed by them or by no one. A customer the
// projection does not know (yet) is nobody's pool: its records stay hidden
// until the projection catches up.
func scopeSQL(w *filter.Where, alias, handlerColumn, scope string) {
	if scope == "" {
		return
	}
	ph := w.Arg(scope)
	w.Add(fmt.Sprintf(`(%[1]s.%[2]s = %[3]s OR EXISTS (SELECT 1 FROM customers c WHERE c.id = %[1]s.customer_id AND c.account_manager IN ('', %[3]s)))`,
		alias, handlerColumn, ph))
}

// ListInteractions implements interaction.Store: newest first.
func (s *Store) ListInteractions(ctx context.Context, q interaction.ListQuery) ([]*interaction.Interaction, error) {
	w := &filter.Where{}
	if q.CustomerID != "" {
		w.Add("i.customer_id = " + w.Arg(q.CustomerID))
	}
	if !q.ShowDeleted {
		w.Add("i.delete_time IS NULL")
	}
	scopeSQL(w, "i", "agent", q.Scope)
	if err := w.Filter(q.Filter, interactionFields.Without(q.Hidden...)); err != nil {
		return nil, err
	}
	if q.After.ID != "" {
		w.Add(fmt.Sprintf("(i.occur_time, i.id) < (%s, %s)", w.Arg(q.After.Time), w.Arg(q.After.ID)))
	}
	rows, err := s.pool.Query(ctx, `SELECT `+interactionColumns+` FROM interactions i WHERE `+w.SQL()+
		` ORDER BY i.occur_time DESC, i.id DESC LIMIT `+w.Arg(q.Limit), w.Args()...)
	return pg.Collect(rows, err, scanInteraction)
}

func getFollowUp(ctx context.Context, q pg.Querier, id string, lock bool) (*interaction.FollowUp, error) {
	sql := `SELECT ` + followUpColumns + ` FROM follow_ups f WHERE f.id = $1`
	if lock {
		sql += ` FOR UPDATE`
	}
	return pg.One(q.QueryRow(ctx, sql, id), scanFollowUp, "followUps/"+id)
}

// GetFollowUp implements interaction.Store.
func (s *Store) GetFollowUp(ctx context.Context, id string) (*interaction.FollowUp, error) {
	return getFollowUp(ctx, s.pool, id, false)
}

// ListFollowUps implements interaction.Store: earliest due first.
func (s *Store) ListFollowUps(ctx context.Context, q interaction.ListQuery) ([]*interaction.FollowUp, error) {
	w := &filter.Where{}
	if q.CustomerID != "" {
		w.Add("f.customer_id = " + w.Arg(q.CustomerID))
	}
	scopeSQL(w, "f", "assignee", q.Scope)
	if err := w.Filter(q.Filter, followUpFields); err != nil {
		return nil, err
	}
	if q.After.ID != "" {
		w.Add(fmt.Sprintf("(f.due_time, f.id) > (%s, %s)", w.Arg(q.After.Time), w.Arg(q.After.ID)))
	}
	rows, err := s.pool.Query(ctx, `SELECT `+followUpColumns+` FROM follow_ups f WHERE `+w.SQL()+
		` ORDER BY f.due_time, f.id LIMIT `+w.Arg(q.Limit), w.Args()...)
	return pg.Collect(rows, err, scanFollowUp)
}

// GetCareRule implements interaction.Store.
func (s *Store) GetCareRule(ctx context.Context, id string) (*interaction.CareRule, error) {
	return pg.One(s.pool.QueryRow(ctx, `SELECT `+careRuleColumns+` FROM care_rules r WHERE r.id = $1`, id), scanCareRule, interaction.CareRuleName(id))
}

// ListCareRules implements interaction.Store.
func (s *Store) ListCareRules(ctx context.Context, afterID string, limit int) ([]*interaction.CareRule, error) {
	rows, err := s.pool.Query(ctx, `SELECT `+careRuleColumns+` FROM care_rules r WHERE r.id > $1 ORDER BY r.id LIMIT $2`, afterID, limit)
	return pg.Collect(rows, err, scanCareRule)
}

// ActiveCareRules implements interaction.Store.
func (s *Store) ActiveCareRules(ctx context.Context) ([]*interaction.CareRule, error) {
	rows, err := s.pool.Query(ctx, `SELECT `+careRuleColumns+` FROM care_rules r WHERE r.active ORDER BY r.id`)
	return pg.Collect(rows, err, scanCareRule)
}

// GetTouchpoint implements interaction.Store.
func (s *Store) GetTouchpoint(ctx context.Context, id string) (*interaction.Touchpoint, error) {
	return pg.One(s.pool.QueryRow(ctx, `SELECT `+touchpointColumns+` FROM touchpoints t WHERE t.id = $1`, id), scanTouchpoint, interaction.TouchpointName(id))
}

// ListTouchpoints implements interaction.Store.
func (s *Store) ListTouchpoints(ctx context.Context, afterID string, limit int) ([]*interaction.Touchpoint, error) {
	rows, err := s.pool.Query(ctx, `SELECT `+touchpointColumns+` FROM touchpoints t WHERE t.id > $1 ORDER BY t.id LIMIT $2`, afterID, limit)
	return pg.Collect(rows, err, scanTouchpoint)
}

// CheckCustomerFilter implements interaction.Store.
func (s *Store) CheckCustomerFilter(f string) error {
	_, err := filter.Compile(f, customerFields, 0)
	return err
}

// CustomerManager implements interaction.Store.
func (s *Store) CustomerManager(ctx context.Context, customerID string) (string, bool, error) {
	var m string
	err := s.pool.QueryRow(ctx, `SELECT account_manager FROM customers WHERE id = $1`, customerID).Scan(&m)
	if errors.Is(err, pgx.ErrNoRows) {
		return "", false, nil
	}
	return m, err == nil, pg.Classify(err)
}

// Cursor implements interaction.Store.
func (s *Store) Cursor(ctx context.Context, stream string) (int64, error) {
	return cursor.Get(ctx, s.pool, stream, false)
}

// InTx implements interaction.Store.
func (s *Store) InTx(ctx context.Context, fn func(ctx context.Context, tx interaction.Tx) error) error {
	return pg.InTx(ctx, s.pool, pgx.ReadCommitted, func(t pgx.Tx) error {
		return fn(ctx, &tx{Keys: keystore.Keys{Tx: t}, Emitter: outbox.Emitter{Tx: t, Codec: s.codec}, tx: t})
	})
}
