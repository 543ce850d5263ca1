package store

import (
	"context"
	"slices"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/kehu-crm/kehu/pkg/customerref"
	"github.com/kehu-crm/kehu/pkg/customerref/erased"
	"github.com/kehu-crm/kehu/pkg/errs"
	"github.com/kehu-crm/kehu/pkg/follow/cursor"
	"github.com/kehu-crm/kehu/pkg/idempotency/keystore"
	"github.com/kehu-crm/kehu/pkg/outbox"
	"github.com/kehu-crm/kehu/pkg/pg"
	"github.com/kehu-crm/kehu/services/servicedesk/internal/desk"
)

// tx implements desk.Tx on one pgx transaction; request ids and events
// are the platform's.
type tx struct {
	keystore.Keys
	outbox.Emitter
	tx pgx.Tx
}

var _ desk.Tx = (*tx)(nil)

func (t *tx) LockTicket(ctx context.Context, id string) (*desk.Ticket, error) {
	return getTicket(ctx, t.tx, id, true)
}

// ticketArgs are the stored columns of a ticket after id, in the order of
// the INSERT and UPDATE statements.
func ticketArgs(k *desk.Ticket) []any {
	args := []any{k.CustomerID, k.Type, k.Channel, k.Subject, k.Description, k.Priority,
		slices.Index(desk.Priorities, k.Priority), pg.NonNil(k.Tags), pg.NullIfEmpty(k.QueueID), k.Assignee,
		k.Escalation, k.Interaction, k.Status, k.ValueTier, pg.NullIfEmpty(k.PolicyID),
		k.FirstResponse.Target.Milliseconds(), k.FirstResponse.Elapsed.Milliseconds(), k.FirstResponse.Since, k.FirstResponse.Due, k.FirstResponse.Risk, k.FirstResponse.Stop,
		k.Resolution.Target.Milliseconds(), k.Resolution.Elapsed.Milliseconds(), k.Resolution.Since, k.Resolution.Due, k.Resolution.Risk, k.Resolution.Stop,
		k.RootCause, k.ResolutionNote, k.Creator, k.FirstResponded, k.ResolveTime, k.CloseTime,
		k.Revision, k.CreateTime, k.UpdateTime, k.DeleteTime}
	survey := surveyArgs(k.Survey)
	return append(args, survey[:]...)
}

// surveyArgs are the survey_* columns of a ticket's latest answer.
func surveyArgs(r *desk.Result) [4]any {
	if r == nil {
		return [4]any{"", nil, "", nil}
	}
	return [4]any{r.Kind, r.Score, r.Comment, r.AnswerTime}
}

func (t *tx) InsertTicket(ctx context.Context, k *desk.Ticket) error {
	if err := erased.Check(ctx, t.tx, k.CustomerID); err != nil {
		return err
	}
	_, err := t.tx.Exec(ctx, `INSERT INTO tickets (id, customer_id, type, channel, subject, description, priority,
		priority_rank, tags, queue_id, assignee, escalation_level, interaction, status, value_tier, sla_policy_id,
		fr_target_ms, fr_elapsed_ms, fr_since, fr_due, fr_risk, fr_stop,
		res_target_ms, res_elapsed_ms, res_since, res_due, res_risk, res_stop,
		root_cause, resolution_summary, creator, first_response_time, resolve_time, close_time,
		revision, create_time, update_time, delete_time, survey_kind, survey_score, survey_comment, survey_answer_time)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18, $19, $20,
		        $21, $22, $23, $24, $25, $26, $27, $28, $29, $30, $31, $32, $33, $34, $35, $36, $37, $38, $39, $40, $41, $42)`,
		append([]any{k.ID}, ticketArgs(k)...)...)
	return pg.Classify(err)
}

func (t *tx) UpdateTicket(ctx context.Context, k *desk.Ticket) error {
	_, err := t.tx.Exec(ctx, `UPDATE tickets SET customer_id = $2, type = $3, channel = $4, subject = $5,
		description = $6, priority = $7, priority_rank = $8, tags = $9, queue_id = $10, assignee = $11,
		escalation_level = $12, interaction = $13, status = $14, value_tier = $15, sla_policy_id = $16,
		fr_target_ms = $17, fr_elapsed_ms = $18, fr_since = $19, fr_due = $20, fr_risk = $21, fr_stop = $22,
		res_target_ms = $23, res_elapsed_ms = $24, res_since = $25, res_due = $26, res_risk = $27, res_stop = $28,
		root_cause = $29, resolution_summary = $30, creator = $31, first_response_time = $32,
		resolve_time = $33, close_time = $34, revision = $35, create_time = $36, update_time = $37, delete_time = $38,
		survey_kind = $39, survey_score = $40, survey_comment = $41, survey_answer_time = $42
		WHERE id = $1`,
		append([]any{k.ID}, ticketArgs(k)...)...)
	return pg.Classify(err)
}

// AddChanges appends history rows in one statement.
func (t *tx) AddChanges(ctx context.Context, ticketID string, changes ...desk.Change) error {
	if len(changes) == 0 {
		return nil
	}
	fields, froms, tos, actors := make([]string, len(changes)), make([]string, len(changes)), make([]string, len(changes)), make([]string, len(changes))
	for n, c := range changes {
		fields[n], froms[n], tos[n], actors[n] = c.Field, c.From, c.To, c.Actor
	}
	_, err := t.tx.Exec(ctx, `INSERT INTO ticket_changes (ticket_id, field, from_value, to_value, actor, change_time)
		SELECT $1, f, fr, t, a, $6 FROM unnest($2::text[], $3::text[], $4::text[], $5::text[]) WITH ORDINALITY AS c(f, fr, t, a, n)
		ORDER BY n`, ticketID, fields, froms, tos, actors, changes[0].Time)
	return pg.Classify(err)
}

func (t *tx) InsertComment(ctx context.Context, c *desk.Comment) error {
	_, err := t.tx.Exec(ctx, `INSERT INTO comments (id, ticket_id, author, visibility, body, create_time)
		VALUES ($1, $2, $3, $4, $5, $6)`, c.ID, c.TicketID, c.Author, c.Visibility, c.Body, c.CreateTime)
	return pg.Classify(err)
}

func (t *tx) LockQueue(ctx context.Context, id string) (*desk.Queue, error) {
	return pg.One(t.tx.QueryRow(ctx, `SELECT `+queueColumns+` FROM queues q WHERE q.id = $1 FOR UPDATE`, id), scanQueue, desk.QueueName(id))
}

func (t *tx) RoutingQueues(ctx context.Context) ([]*desk.Queue, error) {
	rows, err := t.tx.Query(ctx, `SELECT `+queueColumns+` FROM queues q ORDER BY q.routing_order, q.id`)
	return pg.Collect(rows, err, scanQueue)
}

func (t *tx) OpenTickets(ctx context.Context, users []string) (map[string]int, error) {
	rows, err := t.tx.Query(ctx, `SELECT assignee, count(*) FROM tickets
		WHERE assignee = ANY($1) AND status IN ('NEW', 'OPEN', 'PENDING_CUSTOMER') AND delete_time IS NULL
		GROUP BY assignee`, users)
	if err != nil {
		return nil, pg.Classify(err)
	}
	defer rows.Close()
	counts := map[string]int{}
	for rows.Next() {
		var (
			user string
			n    int
		)
		if err := rows.Scan(&user, &n); err != nil {
			return nil, pg.Classify(err)
		}
		counts[user] = n
	}
	return counts, pg.Classify(rows.Err())
}

func (t *tx) LastAssigned(ctx context.Context, queueID string) (string, error) {
	var user string
	err := t.tx.QueryRow(ctx, `SELECT last_assigned FROM queues WHERE id = $1`, queueID).Scan(&user)
	return user, pg.Classify(err)
}

func (t *tx) SetLastAssigned(ctx context.Context, queueID, user string) error {
	_, err := t.tx.Exec(ctx, `UPDATE queues SET last_assigned = $2 WHERE id = $1`, queueID, user)
	return pg.Classify(err)
}

func (t *tx) InsertQueue(ctx context.Context, q *desk.Queue) error {
	members, err := membersJSON(q.Members)
	if err != nil {
		return err
	}
	_, err = t.tx.Exec(ctx, `INSERT INTO queues (id, display_name, description, members, route_types, route_channels,
		route_value_tiers, routing_order, complaint_queue, revision, create_time, update_time)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)`,
		q.ID, q.DisplayName, q.Description, members, pg.NonNil(q.RouteTypes), pg.NonNil(q.RouteChannels),
		pg.NonNil(q.RouteValueTiers), q.RoutingOrder, q.ComplaintQueue, q.Revision, q.CreateTime, q.UpdateTime)
	return queueConflict(err, q.ID)
}

func (t *tx) UpdateQueue(ctx context.Context, q *desk.Queue) error {
	members, err := membersJSON(q.Members)
	if err != nil {
		return err
	}
	_, err = t.tx.Exec(ctx, `UPDATE queues SET display_name = $2, description = $3, members = $4, route_types = $5,
		route_channels = $6, route_value_tiers = $7, routing_order = $8, complaint_queue = $9, revision = $10,
		update_time = $11 WHERE id = $1`,
		q.ID, q.DisplayName, q.Description, members, pg.NonNil(q.RouteTypes), pg.NonNil(q.RouteChannels),
		pg.NonNil(q.RouteValueTiers), q.RoutingOrder, q.ComplaintQueue, q.Revision, q.UpdateTime)
	return queueConflict(err, q.ID)
}

func queueConflict(err error, id string) error {
	switch pg.ConstraintName(err) {
	case "queues_pkey":
		return errs.AlreadyExists("QUEUE_EXISTS", "%s already exists", desk.QueueName(id))
	case "queues_one_complaint_queue":
		return errs.FailedPrecondition("COMPLAINT_QUEUE_EXISTS", "another queue is already the complaint queue; unset it there first")
	}
	return pg.Classify(err)
}

func (t *tx) DeleteQueue(ctx context.Context, id string) error {
	var active bool
	if err := t.tx.QueryRow(ctx, `SELECT EXISTS (SELECT 1 FROM tickets WHERE queue_id = $1
		AND status IN ('NEW', 'OPEN', 'PENDING_CUSTOMER') AND delete_time IS NULL)`, id).Scan(&active); err != nil {
		return pg.Classify(err)
	}
	if active {
		return errs.FailedPrecondition("QUEUE_IN_USE", "active tickets wait in %s; move or resolve them first", desk.QueueName(id))
	}
	// Closed tickets keep their history but leave the queue.
	if _, err := t.tx.Exec(ctx, `UPDATE tickets SET queue_id = NULL WHERE queue_id = $1`, id); err != nil {
		return pg.Classify(err)
	}
	_, err := t.tx.Exec(ctx, `DELETE FROM queues WHERE id = $1`, id)
	return pg.Classify(err)
}

func (t *tx) Policies(ctx context.Context) ([]*desk.Policy, error) {
	rows, err := t.tx.Query(ctx, `SELECT `+policyColumns+` FROM sla_policies p ORDER BY p.precedence, p.id`)
	policies, err := pg.Collect(rows, err, scanPolicy)
	if err != nil {
		return nil, err
	}
	for _, p := range policies {
		if err := p.Calendar.Check("calendar"); err != nil {
			return nil, errs.Internal(err)
		}
	}
	return policies, nil
}

func (t *tx) LockPolicy(ctx context.Context, id string) (*desk.Policy, error) {
	return pg.One(t.tx.QueryRow(ctx, `SELECT `+policyColumns+` FROM sla_policies p WHERE p.id = $1 FOR UPDATE`, id), scanPolicy, desk.PolicyName(id))
}

func (t *tx) InsertPolicy(ctx context.Context, p *desk.Policy) error {
	cal, err := calendarJSON(p.Calendar)
	if err != nil {
		return err
	}
	_, err = t.tx.Exec(ctx, `INSERT INTO sla_policies (id, display_name, priorities, types, value_tiers, precedence,
		first_response_target_ms, resolution_target_ms, calendar, revision, create_time, update_time)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)`,
		p.ID, p.DisplayName, pg.NonNil(p.Priorities), pg.NonNil(p.Types), pg.NonNil(p.ValueTiers), p.Precedence,
		p.FirstResponseTarget.Milliseconds(), p.ResolutionTarget.Milliseconds(), cal, p.Revision, p.CreateTime, p.UpdateTime)
	if pg.ConstraintName(err) == "sla_policies_pkey" {
		return errs.AlreadyExists("SLA_POLICY_EXISTS", "%s already exists", desk.PolicyName(p.ID))
	}
	return pg.Classify(err)
}

func (t *tx) UpdatePolicy(ctx context.Context, p *desk.Policy) error {
	cal, err := calendarJSON(p.Calendar)
	if err != nil {
		return err
	}
	_, err = t.tx.Exec(ctx, `UPDATE sla_policies SET display_name = $2, priorities = $3, types = $4, value_tiers = $5,
		precedence = $6, first_response_target_ms = $7, resolution_target_ms = $8, calendar = $9, revision = $10,
		update_time = $11 WHERE id = $1`,
		p.ID, p.DisplayName, pg.NonNil(p.Priorities), pg.NonNil(p.Types), pg.NonNil(p.ValueTiers), p.Precedence,
		p.FirstResponseTarget.Milliseconds(), p.ResolutionTarget.Milliseconds(), cal, p.Revision, p.UpdateTime)
	return pg.Classify(err)
}

func (t *tx) DeletePolicy(ctx context.Context, id string) error {
	_, err := t.tx.Exec(ctx, `DELETE FROM sla_policies WHERE id = $1`, id)
	if pg.ConstraintName(err) == "tickets_sla_policy_id_fkey" {
		return errs.FailedPrecondition("SLA_POLICY_IN_USE", "tickets run on %s; it can be changed but not deleted", desk.PolicyName(id))
	}
	return pg.Classify(err)
}

// RaiseAlerts implements desk.Tx: one statement finds the clocks past
// their risk or due time and records the alerts not raised yet; the
// primary key makes each alert once, whichever transaction gets there
// first.
func (t *tx) RaiseAlerts(ctx context.Context, now time.Time, limit int) ([]desk.Alert, error) {
	rows, err := t.tx.Query(ctx, `
		WITH due AS (
			SELECT id, 'first_response' AS target, 'BREACHED' AS kind FROM tickets WHERE fr_due <= $1 AND delete_time IS NULL
			UNION ALL SELECT id, 'resolution', 'BREACHED' FROM tickets WHERE res_due <= $1 AND delete_time IS NULL
			UNION ALL SELECT id, 'first_response', 'AT_RISK' FROM tickets WHERE fr_risk <= $1 AND delete_time IS NULL
			UNION ALL SELECT id, 'resolution', 'AT_RISK' FROM tickets WHERE res_risk <= $1 AND delete_time IS NULL
		), fresh AS (
			SELECT d.* FROM due d
			WHERE NOT EXISTS (SELECT 1 FROM sla_alerts a WHERE a.ticket_id = d.id AND a.target = d.target AND a.kind = d.kind)
			ORDER BY d.kind DESC, d.id LIMIT $2
		)
		INSERT INTO sla_alerts (ticket_id, target, kind, create_time)
		SELECT id, target, kind, $1 FROM fresh
		ON CONFLICT DO NOTHING
		RETURNING ticket_id::text, target, kind`, now, limit)
	return pg.Collect(rows, err, func(r pgx.Row) (desk.Alert, error) {
		var a desk.Alert
		return a, r.Scan(&a.TicketID, &a.Target, &a.Kind)
	})
}

// OweVisit implements desk.Tx.
func (t *tx) OweVisit(ctx context.Context, v desk.Visit) error {
	_, err := t.tx.Exec(ctx, `INSERT INTO owed_visits (ticket_id, reason, customer_id, fallback, purpose, due_time, create_time)
		VALUES ($1, $2, $3, $4, $5, $6, now()) ON CONFLICT (ticket_id, reason) DO NOTHING`, v.TicketID, v.Reason, v.CustomerID, v.Fallback, v.Purpose, v.Due)
	return pg.Classify(err)
}

// ForgetVisit implements desk.Tx.
func (t *tx) ForgetVisit(ctx context.Context, v desk.Visit) error {
	_, err := t.tx.Exec(ctx, `DELETE FROM owed_visits WHERE ticket_id = $1 AND reason = $2`, v.TicketID, v.Reason)
	return pg.Classify(err)
}

// InsertSurvey implements desk.Tx.
func (t *tx) InsertSurvey(ctx context.Context, v *desk.Survey, tokenHash []byte) error {
	_, err := t.tx.Exec(ctx, `INSERT INTO surveys (id, ticket_id, customer_id, kind, token_hash, state, issue_time, expire_time)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8)`, v.ID, v.TicketID, v.CustomerID, v.Kind, tokenHash, v.State, v.IssueTime, v.ExpireTime)
	return pg.Classify(err)
}

// LockSurveyByToken implements desk.Tx.
func (t *tx) LockSurveyByToken(ctx context.Context, hash []byte) (*desk.Survey, error) {
	return pg.One(t.tx.QueryRow(ctx, `SELECT `+surveyColumns+` FROM surveys v WHERE v.token_hash = $1 FOR UPDATE`, hash), scanSurvey, "survey")
}

// UpdateSurvey implements desk.Tx.
func (t *tx) UpdateSurvey(ctx context.Context, v *desk.Survey) error {
	var (
		score    any
		comment  string
		answered any
	)
	if v.Result != nil {
		score, comment, answered = v.Result.Score, v.Result.Comment, v.Result.AnswerTime
	}
	_, err := t.tx.Exec(ctx, `UPDATE surveys SET state = $2, score = $3, comment = $4, answer_time = $5 WHERE id = $1`,
		v.ID, v.State, score, comment, answered)
	return pg.Classify(err)
}

// MoveTickets implements desk.Tx.
func (t *tx) MoveTickets(ctx context.Context, survivor string, merged []string, seq int64) (int64, error) {
	tag, err := t.tx.Exec(ctx, `
		WITH moved AS (
			UPDATE tickets k SET customer_id = $1 FROM tickets o
			WHERE k.id = o.id AND o.customer_id = ANY($2::uuid[])
			RETURNING k.id, o.customer_id AS from_customer)
		INSERT INTO ticket_moves (ticket_id, from_customer, to_customer, move_sequence)
		SELECT id, from_customer, $1, $3 FROM moved`, survivor, merged, seq)
	if err != nil {
		return 0, pg.Classify(err)
	}
	_, err = t.tx.Exec(ctx, `UPDATE surveys SET customer_id = $1 WHERE customer_id = ANY($2::uuid[])`, survivor, merged)
	return tag.RowsAffected(), pg.Classify(err)
}

// ReturnTickets implements desk.Tx: the tickets whose latest move went from
// restored to survivor go back, and those moves are forgotten, so an
// earlier merge in a chain can be reversed in turn.
func (t *tx) ReturnTickets(ctx context.Context, survivor, restored string) (int64, error) {
	tag, err := t.tx.Exec(ctx, `
		WITH back AS (
			DELETE FROM ticket_moves m
			WHERE m.to_customer = $1 AND m.from_customer = $2
			  AND m.move_sequence = (SELECT max(l.move_sequence) FROM ticket_moves l WHERE l.ticket_id = m.ticket_id)
			RETURNING m.ticket_id)
		UPDATE tickets SET customer_id = $2 WHERE id IN (SELECT ticket_id FROM back) AND customer_id = $1`, survivor, restored)
	if err != nil {
		return 0, pg.Classify(err)
	}
	_, err = t.tx.Exec(ctx, `UPDATE surveys v SET customer_id = $2 FROM tickets k
		WHERE v.ticket_id = k.id AND k.customer_id = $2 AND v.customer_id = $1`, survivor, restored)
	return tag.RowsAffected(), pg.Classify(err)
}

// EraseCustomer implements desk.Tx: the customer's tickets go with their
// history, comments, surveys and owed visits (ON DELETE CASCADE), and the
// payloads of their events are blanked.
func (t *tx) EraseCustomer(ctx context.Context, customerID string) error {
	if err := erased.Record(ctx, t.tx, customerID); err != nil {
		return err
	}
	rows, err := t.tx.Query(ctx, `
		WITH gone AS (DELETE FROM tickets WHERE customer_id = $1 RETURNING id)
		SELECT 'tickets/' || id::text FROM gone
		UNION ALL SELECT 'surveys/' || v.id::text FROM surveys v WHERE v.customer_id = $1`, customerID)
	subjects, err := pg.Collect(rows, err, func(r pgx.Row) (string, error) {
		var s string
		return s, r.Scan(&s)
	})
	if err != nil {
		return err
	}
	// Also the customer's own events (tickets moved to it by a merge).
	for _, s := range append(subjects, customerref.Name(customerID)) {
		if _, err := outbox.Erase(ctx, t.tx, s); err != nil {
			return pg.Classify(err)
		}
	}
	return nil
}

func (t *tx) Cursor(ctx context.Context, stream string) (int64, error) {
	return cursor.Get(ctx, t.tx, stream, true)
}

func (t *tx) SetCursor(ctx context.Context, stream string, seq int64) error {
	return cursor.Set(ctx, t.tx, stream, seq)
}
