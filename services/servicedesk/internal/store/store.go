// Package store implements the service desk domain's Store on PostgreSQL
// with pgx. It is the only package of the service that speaks SQL; it
// returns domain types and errs errors, never pgx types.
package store

import (
	"context"
	"encoding/json"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/kehu-crm/kehu/pkg/errs"
	"github.com/kehu-crm/kehu/pkg/filter"
	"github.com/kehu-crm/kehu/pkg/follow/cursor"
	"github.com/kehu-crm/kehu/pkg/idempotency/keystore"
	"github.com/kehu-crm/kehu/pkg/outbox"
	"github.com/kehu-crm/kehu/pkg/pg"
	"github.com/kehu-crm/kehu/services/servicedesk/internal/desk"
)

// Store is the PostgreSQL implementation of desk.Store.
type Store struct {
	pool  *pgxpool.Pool
	codec outbox.Codec
}

var _ desk.Store = (*Store)(nil)

// New returns a Store on a pool whose search_path is the servicedesk schema.
func New(pool *pgxpool.Pool, codec outbox.Codec) *Store { return &Store{pool: pool, codec: codec} }

// InTx implements desk.Store.
func (s *Store) InTx(ctx context.Context, fn func(ctx context.Context, tx desk.Tx) error) error {
	return pg.InTx(ctx, s.pool, pgx.ReadCommitted, func(t pgx.Tx) error {
		return fn(ctx, &tx{Keys: keystore.Keys{Tx: t}, Emitter: outbox.Emitter{Tx: t, Codec: s.codec}, tx: t})
	})
}

const ticketColumns = `t.id::text, t.customer_id::text, t.type, t.channel, t.subject, t.description, t.priority,
	t.tags, coalesce(t.queue_id, ''), t.assignee, t.escalation_level, t.interaction, t.status, t.value_tier,
	coalesce(t.sla_policy_id, ''),
	t.fr_target_ms, t.fr_elapsed_ms, t.fr_since, t.fr_due, t.fr_risk, t.fr_stop,
	t.res_target_ms, t.res_elapsed_ms, t.res_since, t.res_due, t.res_risk, t.res_stop,
	t.root_cause, t.resolution_summary, t.creator, t.first_response_time, t.resolve_time, t.close_time,
	t.revision, t.create_time, t.update_time, t.delete_time,
	t.survey_kind, t.survey_score, t.survey_comment, t.survey_answer_time`

func scanTicket(row pgx.Row) (*desk.Ticket, error) {
	var (
		t                  desk.Ticket
		frTarget, frSpent  int64
		resTarget, resSpnt int64
		surveyKind         string
		surveyScore        *int
		surveyComment      string
		surveyAnswered     *time.Time
	)
	err := row.Scan(&t.ID, &t.CustomerID, &t.Type, &t.Channel, &t.Subject, &t.Description, &t.Priority,
		&t.Tags, &t.QueueID, &t.Assignee, &t.Escalation, &t.Interaction, &t.Status, &t.ValueTier, &t.PolicyID,
		&frTarget, &frSpent, &t.FirstResponse.Since, &t.FirstResponse.Due, &t.FirstResponse.Risk, &t.FirstResponse.Stop,
		&resTarget, &resSpnt, &t.Resolution.Since, &t.Resolution.Due, &t.Resolution.Risk, &t.Resolution.Stop,
		&t.RootCause, &t.ResolutionNote, &t.Creator, &t.FirstResponded, &t.ResolveTime, &t.CloseTime,
		&t.Revision, &t.CreateTime, &t.UpdateTime, &t.DeleteTime,
		&surveyKind, &surveyScore, &surveyComment, &surveyAnswered)
	if err != nil {
		return nil, err
	}
	if surveyScore != nil && surveyAnswered != nil {
		t.Survey = &desk.Result{Kind: surveyKind, Score: *surveyScore, Comment: surveyComment, AnswerTime: surveyAnswered.UTC()}
	}
	t.FirstResponse.Target, t.FirstResponse.Elapsed = ms(frTarget), ms(frSpent)
	t.Resolution.Target, t.Resolution.Elapsed = ms(resTarget), ms(resSpnt)
	t.CreateTime, t.UpdateTime = t.CreateTime.UTC(), t.UpdateTime.UTC()
	for _, p := range []**time.Time{&t.FirstResponse.Since, &t.FirstResponse.Due, &t.FirstResponse.Risk, &t.FirstResponse.Stop,
		&t.Resolution.Since, &t.Resolution.Due, &t.Resolution.Risk, &t.Resolution.Stop,
		&t.FirstResponded, &t.ResolveTime, &t.CloseTime, &t.DeleteTime} {
		utc(p)
	}
	return &t, nil
}

func ms(n int64) time.Duration { return time.Duration(n) * time.Millisecond }

func utc(p **time.Time) {
	if *p != nil {
		v := (*p).UTC()
		*p = &v
	}
}

func getTicket(ctx context.Context, q pg.Querier, id string, lock bool) (*desk.Ticket, error) {
	sql := `SELECT ` + ticketColumns + ` FROM tickets t WHERE t.id = $1`
	if lock {
		sql += ` FOR UPDATE`
	}
	return pg.One(q.QueryRow(ctx, sql, id), scanTicket, desk.TicketName(id))
}

// GetTicket implements desk.Store.
func (s *Store) GetTicket(ctx context.Context, id string) (*desk.Ticket, error) {
	return getTicket(ctx, s.pool, id, false)
}

// sortColumns are the SQL of desk.SortFields, with the type their cursor
// keys are compared as.
var sortColumns = map[string]struct{ expr, typ string }{
	"create_time":             {"t.create_time", "timestamptz"},
	"update_time":             {"t.update_time", "timestamptz"},
	"priority":                {"t.priority_rank", "smallint"},
	"first_response.due_time": {"coalesce(t.fr_due, 'infinity')", "timestamptz"},
	"resolution.due_time":     {"coalesce(t.res_due, 'infinity')", "timestamptz"},
}

// ListTickets implements desk.Store.
func (s *Store) ListTickets(ctx context.Context, q desk.TicketQuery) ([]*desk.Ticket, error) {
	w := &filter.Where{}
	if !q.ShowDeleted {
		w.Add("t.delete_time IS NULL")
	}
	if q.Scope != nil {
		user := w.Arg(q.Scope.User)
		w.Add(fmt.Sprintf("(t.assignee = %[1]s OR t.creator = %[1]s OR t.queue_id = ANY(%[2]s))", user, w.Arg(q.Scope.Queues)))
	}
	if err := w.Filter(q.Filter, ticketFields.Without(q.Hidden...)); err != nil {
		return nil, err
	}
	sc, ok := sortColumns[q.Order.Field]
	if !ok {
		return nil, errs.InvalidField("order_by", "cannot sort by %q", q.Order.Field)
	}
	dir, cmp := "ASC", ">"
	if q.Order.Desc {
		dir, cmp = "DESC", "<"
	}
	if q.After.ID != "" {
		w.Add(fmt.Sprintf("(%s, t.id) %s (%%s::%s, %%s::uuid)", sc.expr, cmp, sc.typ), q.After.Key, q.After.ID)
	}
	sql := fmt.Sprintf(`SELECT %s FROM tickets t WHERE %s ORDER BY %s %s, t.id %s LIMIT %d`,
		ticketColumns, w.SQL(), sc.expr, dir, dir, q.Limit)
	rows, err := s.pool.Query(ctx, sql, w.Args()...)
	return pg.Collect(rows, err, scanTicket)
}

// ListChanges implements desk.Store.
func (s *Store) ListChanges(ctx context.Context, ticketID string, after int64, limit int) ([]desk.Change, []int64, error) {
	rows, err := s.pool.Query(ctx, `SELECT sequence, field, from_value, to_value, actor, change_time
		FROM ticket_changes WHERE ticket_id = $1 AND sequence > $2 ORDER BY sequence LIMIT $3`, ticketID, after, limit)
	if err != nil {
		return nil, nil, pg.Classify(err)
	}
	defer rows.Close()
	var (
		changes []desk.Change
		seqs    []int64
	)
	for rows.Next() {
		var (
			c   desk.Change
			seq int64
		)
		if err := rows.Scan(&seq, &c.Field, &c.From, &c.To, &c.Actor, &c.Time); err != nil {
			return nil, nil, pg.Classify(err)
		}
		c.Time = c.Time.UTC()
		changes, seqs = append(changes, c), append(seqs, seq)
	}
	return changes, seqs, pg.Classify(rows.Err())
}

const commentColumns = `c.id::text, c.ticket_id::text, c.author, c.visibility, c.body, c.create_time`

func scanComment(row pgx.Row) (*desk.Comment, error) {
	var c desk.Comment
	if err := row.Scan(&c.ID, &c.TicketID, &c.Author, &c.Visibility, &c.Body, &c.CreateTime); err != nil {
		return nil, err
	}
	c.CreateTime = c.CreateTime.UTC()
	return &c, nil
}

// GetComment implements desk.Store.
func (s *Store) GetComment(ctx context.Context, ticketID, id string) (*desk.Comment, error) {
	return pg.One(s.pool.QueryRow(ctx, `SELECT `+commentColumns+` FROM comments c WHERE c.ticket_id = $1 AND c.id = $2`, ticketID, id),
		scanComment, desk.CommentName(ticketID, id))
}

// ListComments implements desk.Store.
func (s *Store) ListComments(ctx context.Context, ticketID string, after desk.Cursor, limit int) ([]*desk.Comment, error) {
	w := &filter.Where{}
	w.Add("c.ticket_id = " + w.Arg(ticketID))
	if after.ID != "" {
		w.Add(fmt.Sprintf("(c.create_time, c.id) > (%s::timestamptz, %s::uuid)", w.Arg(after.Key), w.Arg(after.ID)))
	}
	rows, err := s.pool.Query(ctx, `SELECT `+commentColumns+` FROM comments c WHERE `+w.SQL()+
		` ORDER BY c.create_time, c.id LIMIT `+w.Arg(limit), w.Args()...)
	return pg.Collect(rows, err, scanComment)
}

const queueColumns = `q.id, q.display_name, q.description, q.members, q.route_types, q.route_channels,
	q.route_value_tiers, q.routing_order, q.complaint_queue, q.revision, q.create_time, q.update_time`

// member is a queue member as stored in queues.members.
type member struct {
	User      string `json:"user"`
	Available bool   `json:"available"`
}

func scanQueue(row pgx.Row) (*desk.Queue, error) {
	var (
		q       desk.Queue
		members []member
	)
	if err := row.Scan(&q.ID, &q.DisplayName, &q.Description, &members, &q.RouteTypes, &q.RouteChannels,
		&q.RouteValueTiers, &q.RoutingOrder, &q.ComplaintQueue, &q.Revision, &q.CreateTime, &q.UpdateTime); err != nil {
		return nil, err
	}
	for _, m := range members {
		q.Members = append(q.Members, desk.Member{User: m.User, Available: m.Available})
	}
	q.CreateTime, q.UpdateTime = q.CreateTime.UTC(), q.UpdateTime.UTC()
	return &q, nil
}

func membersJSON(ms []desk.Member) ([]byte, error) {
	out := make([]member, len(ms))
	for n, m := range ms {
		out[n] = member{User: m.User, Available: m.Available}
	}
	return json.Marshal(out)
}

// GetQueue implements desk.Store.
func (s *Store) GetQueue(ctx context.Context, id string) (*desk.Queue, error) {
	return pg.One(s.pool.QueryRow(ctx, `SELECT `+queueColumns+` FROM queues q WHERE q.id = $1`, id), scanQueue, desk.QueueName(id))
}

// ListQueues implements desk.Store: by id, which is stable under paging.
func (s *Store) ListQueues(ctx context.Context, after desk.Cursor, limit int) ([]*desk.Queue, error) {
	rows, err := s.pool.Query(ctx, `SELECT `+queueColumns+` FROM queues q WHERE q.id > $1 ORDER BY q.id LIMIT $2`, after.ID, limit)
	return pg.Collect(rows, err, scanQueue)
}

// QueuesOf implements desk.Store.
func (s *Store) QueuesOf(ctx context.Context, user string) ([]string, error) {
	doc, err := json.Marshal([]map[string]string{{"user": user}})
	if err != nil {
		return nil, err
	}
	rows, err := s.pool.Query(ctx, `SELECT id FROM queues WHERE members @> $1::jsonb`, doc)
	ids, err := pg.Collect(rows, err, func(r pgx.Row) (string, error) {
		var id string
		return id, r.Scan(&id)
	})
	return pg.NonNil(ids), err
}

const policyColumns = `p.id, p.display_name, p.priorities, p.types, p.value_tiers, p.precedence,
	p.first_response_target_ms, p.resolution_target_ms, p.calendar, p.revision, p.create_time, p.update_time`

// calendar is a business calendar as stored in sla_policies.calendar.
type calendar struct {
	TimeZone   string          `json:"time_zone"`
	Week       [7][]desk.Block `json:"week"`
	Holidays   []string        `json:"holidays"`
	MakeUpDays []string        `json:"make_up_days"`
}

func scanPolicy(row pgx.Row) (*desk.Policy, error) {
	var (
		p       desk.Policy
		fr, res int64
		cal     calendar
	)
	if err := row.Scan(&p.ID, &p.DisplayName, &p.Priorities, &p.Types, &p.ValueTiers, &p.Precedence,
		&fr, &res, &cal, &p.Revision, &p.CreateTime, &p.UpdateTime); err != nil {
		return nil, err
	}
	p.FirstResponseTarget, p.ResolutionTarget = ms(fr), ms(res)
	p.Calendar = desk.Calendar{TimeZone: cal.TimeZone, Week: cal.Week, Holidays: cal.Holidays, MakeUpDays: cal.MakeUpDays}
	p.CreateTime, p.UpdateTime = p.CreateTime.UTC(), p.UpdateTime.UTC()
	return &p, nil
}

func calendarJSON(c desk.Calendar) ([]byte, error) {
	return json.Marshal(calendar{TimeZone: c.TimeZone, Week: c.Week, Holidays: pg.NonNil(c.Holidays), MakeUpDays: pg.NonNil(c.MakeUpDays)})
}

// GetPolicy implements desk.Store.
func (s *Store) GetPolicy(ctx context.Context, id string) (*desk.Policy, error) {
	return pg.One(s.pool.QueryRow(ctx, `SELECT `+policyColumns+` FROM sla_policies p WHERE p.id = $1`, id), scanPolicy, desk.PolicyName(id))
}

// ListPolicies implements desk.Store: by id, which is stable under paging.
func (s *Store) ListPolicies(ctx context.Context, after desk.Cursor, limit int) ([]*desk.Policy, error) {
	rows, err := s.pool.Query(ctx, `SELECT `+policyColumns+` FROM sla_policies p WHERE p.id > $1 ORDER BY p.id LIMIT $2`, after.ID, limit)
	return pg.Collect(rows, err, scanPolicy)
}

// OwedVisits implements desk.Store.
func (s *Store) OwedVisits(ctx context.Context, limit int) ([]desk.Visit, error) {
	rows, err := s.pool.Query(ctx, `SELECT ticket_id::text, reason, customer_id::text, fallback, purpose, due_time
		FROM owed_visits ORDER BY create_time, ticket_id, reason LIMIT $1`, limit)
	return pg.Collect(rows, err, func(r pgx.Row) (desk.Visit, error) {
		var v desk.Visit
		err := r.Scan(&v.TicketID, &v.Reason, &v.CustomerID, &v.Fallback, &v.Purpose, &v.Due)
		v.Due = v.Due.UTC()
		return v, err
	})
}

const surveyColumns = `v.id::text, v.ticket_id::text, v.customer_id::text, v.kind, v.state, v.score, v.comment,
	v.issue_time, v.expire_time, v.answer_time, (SELECT subject FROM tickets t WHERE t.id = v.ticket_id)`

func scanSurvey(row pgx.Row) (*desk.Survey, error) {
	var (
		v        desk.Survey
		score    *int
		comment  string
		answered *time.Time
	)
	if err := row.Scan(&v.ID, &v.TicketID, &v.CustomerID, &v.Kind, &v.State, &score, &comment,
		&v.IssueTime, &v.ExpireTime, &answered, &v.Subject); err != nil {
		return nil, err
	}
	v.IssueTime, v.ExpireTime = v.IssueTime.UTC(), v.ExpireTime.UTC()
	if score != nil && answered != nil {
		v.Result = &desk.Result{Kind: v.Kind, Score: *score, Comment: comment, AnswerTime: answered.UTC()}
	}
	return &v, nil
}

// GetSurvey implements desk.Store.
func (s *Store) GetSurvey(ctx context.Context, id string) (*desk.Survey, error) {
	return pg.One(s.pool.QueryRow(ctx, `SELECT `+surveyColumns+` FROM surveys v WHERE v.id = $1`, id), scanSurvey, desk.SurveyName(id))
}

// SurveyByToken implements desk.Store.
func (s *Store) SurveyByToken(ctx context.Context, hash []byte) (*desk.Survey, error) {
	return pg.One(s.pool.QueryRow(ctx, `SELECT `+surveyColumns+` FROM surveys v WHERE v.token_hash = $1`, hash), scanSurvey, "survey")
}

// ListSurveys implements desk.Store: newest first.
func (s *Store) ListSurveys(ctx context.Context, q desk.SurveyQuery) ([]*desk.Survey, error) {
	w := &filter.Where{}
	if q.Scope != nil {
		user := w.Arg(q.Scope.User)
		w.Add(fmt.Sprintf(`EXISTS (SELECT 1 FROM tickets t WHERE t.id = v.ticket_id
			AND (t.assignee = %[1]s OR t.creator = %[1]s OR t.queue_id = ANY(%[2]s)))`, user, w.Arg(q.Scope.Queues)))
	}
	if err := w.Filter(q.Filter, surveyFields); err != nil {
		return nil, err
	}
	if q.After.ID != "" {
		w.Add("(v.issue_time, v.id) < (%s::timestamptz, %s::uuid)", q.After.Key, q.After.ID)
	}
	rows, err := s.pool.Query(ctx, fmt.Sprintf(`SELECT %s FROM surveys v WHERE %s ORDER BY v.issue_time DESC, v.id DESC LIMIT %d`,
		surveyColumns, w.SQL(), q.Limit), w.Args()...)
	return pg.Collect(rows, err, scanSurvey)
}

// Cursor implements desk.Store.
func (s *Store) Cursor(ctx context.Context, stream string) (int64, error) {
	return cursor.Get(ctx, s.pool, stream, false)
}
