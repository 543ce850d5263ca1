package desk

import (
	"context"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/kehu-crm/kehu/pkg/auth"
	"github.com/kehu-crm/kehu/pkg/customerref"
	"github.com/kehu-crm/kehu/pkg/errs"
	"github.com/kehu-crm/kehu/pkg/event"
	"github.com/kehu-crm/kehu/pkg/idempotency"
	"github.com/kehu-crm/kehu/pkg/pagetoken"
	"github.com/kehu-crm/kehu/pkg/resource"
)

// CreateTicketInput is the input of CreateTicket. Ticket.CustomerID and
// QueueID hold the names the client sent.
type CreateTicketInput struct {
	Ticket    *Ticket
	RequestID string
}

// CreateTicket opens a ticket: the customer is checked with the customer
// service as the caller, which also tells its value tier (a call rather
// than a projection: it is made anyway, and answers with the tier as of
// now); the ticket is routed, assigned and put under its SLA policy.
func (s *Service) CreateTicket(ctx context.Context, in CreateTicketInput) (*Ticket, error) {
	a, err := auth.AccessFrom(ctx)
	if err != nil {
		return nil, err
	}
	if in.Ticket == nil {
		return nil, errs.InvalidField("ticket", "is required")
	}
	t := *in.Ticket
	t.Tags = slices.Clone(in.Ticket.Tags)
	var v errs.Violations
	normalizeTicket(&v, &t, "ticket")
	customerID, err := parseName("ticket.customer", t.CustomerID, "customers", uuidPattern)
	if err != nil {
		v.Add("ticket.customer", "must be a name like \"customers/{id}\", got %q", t.CustomerID)
	}
	queueID := ""
	if t.QueueID != "" {
		if queueID, err = ParseQueueName("ticket.queue", t.QueueID); err != nil {
			v.Add("ticket.queue", "must be a name like \"queues/{id}\", got %q", t.QueueID)
		}
	}
	if t.Interaction != "" && !strings.HasPrefix(t.Interaction, t.CustomerID+"/interactions/") {
		v.Add("ticket.interaction", "must be an interaction of the ticket's customer, \"%s/interactions/{id}\"", t.CustomerID)
	}
	if err := v.Err(); err != nil {
		return nil, err
	}
	if err := a.CheckAssignee(t.Assignee, "ticket.assignee"); err != nil {
		return nil, err
	}
	ref, err := customerref.Require(ctx, s.customers, "ticket.customer", customerID)
	if err != nil {
		return nil, err
	}
	id, _, err := idempotency.Run(ctx, s.store.InTx, "CreateTicket", in.RequestID, in.Ticket, func(ctx context.Context, tx Tx) (string, error) {
		now := s.now()
		n := t
		n.ID, n.CustomerID, n.ValueTier, n.QueueID = newID(), ref.ID, ref.ValueTier, queueID
		n.Status, n.Creator, n.Revision, n.CreateTime, n.UpdateTime = StatusNew, a.Actor(), 1, now, now
		n.Escalation = 0
		if n.QueueID != "" {
			if _, err := tx.LockQueue(ctx, n.QueueID); err != nil {
				return "", invalidRef(err, "ticket.queue", QueueName(n.QueueID))
			}
		} else {
			queues, err := tx.RoutingQueues(ctx)
			if err != nil {
				return "", err
			}
			n.QueueID = route(queues, &n)
		}
		if n.Assignee == "" && n.QueueID != "" {
			if n.Assignee, err = autoAssign(ctx, tx, n.QueueID); err != nil {
				return "", err
			}
		}
		policies, err := s.policies(ctx, tx)
		if err != nil {
			return "", err
		}
		if err := applyPolicy(&n, policyFor(policies, &n), nil, now); err != nil {
			return "", err
		}
		if err := tx.InsertTicket(ctx, &n); err != nil {
			return "", err
		}
		changes := []Change{{Field: "status", To: n.Status}}
		if n.QueueID != "" {
			changes = append(changes, Change{Field: "queue", To: QueueName(n.QueueID)})
		}
		if n.Assignee != "" {
			changes = append(changes, Change{Field: "assignee", To: n.Assignee})
		}
		return n.ID, s.record(ctx, tx, a, &n, EventTicketCreated, now, changes...)
	})
	if err != nil {
		return nil, err
	}
	return s.readTicket(ctx, a, id)
}

// invalidRef reports a referenced resource that does not exist on the
// field that named it.
func invalidRef(err error, field, name string) error {
	if errs.Is(err, errs.KindNotFound) {
		return errs.InvalidField(field, "%s does not exist", name)
	}
	return err
}

// record writes a ticket change's history and its event.
func (s *Service) record(ctx context.Context, tx Tx, a auth.Access, t *Ticket, eventType string, now time.Time, changes ...Change) error {
	for n := range changes {
		changes[n].Actor, changes[n].Time = a.Actor(), now
	}
	if err := tx.AddChanges(ctx, t.ID, changes...); err != nil {
		return err
	}
	return tx.Emit(ctx, event.Event{Type: eventType, Subject: t.Name(), Actor: a.Actor(), Data: TicketChanged{Ticket: t, Changes: changes}})
}

// GetTicket returns a ticket.
func (s *Service) GetTicket(ctx context.Context, name string) (*Ticket, error) {
	a, err := auth.AccessFrom(ctx)
	if err != nil {
		return nil, err
	}
	t, err := s.loadTicket(ctx, a, "name", name)
	if err != nil {
		return nil, err
	}
	return s.viewTicket(a, t), nil
}

// sortFields are the orders ListTickets offers, each with how to read its
// key from a ticket for the page cursor (the store compares the same keys
// in SQL).
var sortFields = map[string]func(*Ticket) string{
	"create_time": func(t *Ticket) string { return t.CreateTime.Format(time.RFC3339Nano) },
	"update_time": func(t *Ticket) string { return t.UpdateTime.Format(time.RFC3339Nano) },
	"priority":    func(t *Ticket) string { return strconv.Itoa(slices.Index(Priorities, t.Priority)) },
	"first_response.due_time": func(t *Ticket) string {
		return dueKey(t.FirstResponse.Due)
	},
	"resolution.due_time": func(t *Ticket) string { return dueKey(t.Resolution.Due) },
}

// dueKey sorts tickets without a due time (paused, stopped, no policy)
// last, as the store's coalesce to infinity does.
func dueKey(due *time.Time) string {
	if due == nil {
		return "infinity"
	}
	return due.Format(time.RFC3339Nano)
}

// SortFields lists the orders ListTickets offers.
func SortFields() []string {
	out := make([]string, 0, len(sortFields))
	for f := range sortFields {
		out = append(out, f)
	}
	slices.Sort(out)
	return out
}

// ListTicketsInput is the input of ListTickets.
type ListTicketsInput struct {
	Filter      string
	OrderBy     string
	ShowDeleted bool
	PageSize    int32
	PageToken   string
}

// ListTickets lists the tickets the caller may see.
func (s *Service) ListTickets(ctx context.Context, in ListTicketsInput) ([]*Ticket, string, error) {
	a, err := auth.AccessFrom(ctx)
	if err != nil {
		return nil, "", err
	}
	size, err := pagetoken.Size(in.PageSize, defaultPageSize, maxPageSize)
	if err != nil {
		return nil, "", err
	}
	order, err := resource.ParseOrder(in.OrderBy, SortFields(), Order{Field: "create_time", Desc: true})
	if err != nil {
		return nil, "", err
	}
	scope, err := s.scopeOf(ctx, a)
	if err != nil {
		return nil, "", err
	}
	query := fmt.Sprintf("tickets\x00%s\x00%s\x00%t\x00%s", in.Filter, in.OrderBy, in.ShowDeleted, a.Subject)
	q := TicketQuery{Filter: in.Filter, ShowDeleted: in.ShowDeleted, Scope: scope, Order: order, Limit: size + 1}
	if in.PageToken != "" {
		if err := pagetoken.Decode(in.PageToken, query, &q.After); err != nil {
			return nil, "", err
		}
	}
	rows, err := s.store.ListTickets(ctx, q)
	if err != nil {
		return nil, "", err
	}
	next := ""
	if len(rows) == q.Limit {
		rows = rows[:len(rows)-1]
		last := rows[len(rows)-1]
		next = pagetoken.Encode(query, Cursor{Key: sortFields[order.Field](last), ID: last.ID})
	}
	for n, t := range rows {
		rows[n] = s.viewTicket(a, t)
	}
	return rows, next, nil
}

// ticketFields are the update_mask paths of a ticket.
var ticketFields = resource.Fields{
	Updatable: []string{"subject", "description", "priority", "tags", "type", "channel"},
	OutputOnly: []string{"name", "status", "value_tier", "sla_policy", "first_response", "resolution", "escalation_level",
		"first_response_time", "resolve_time", "close_time", "create_time", "update_time", "delete_time", "etag"},
	// Changed by their own methods, which keep the history.
	Dedicated: map[string]string{
		"assignee": "AssignTicket", "queue": "EscalateTicket", "customer": "a new ticket", "interaction": "a new ticket",
		"root_cause": "TransitionTicket", "resolution_summary": "TransitionTicket",
	},
}

// UpdateTicketInput is the input of UpdateTicket.
type UpdateTicketInput struct {
	Name      string
	Ticket    *Ticket
	Etag      string
	Paths     []string
	RequestID string
}

// UpdateTicket changes the fields named in Paths; a new priority (or type)
// puts the ticket under the policy now covering it.
func (s *Service) UpdateTicket(ctx context.Context, in UpdateTicketInput) (*Ticket, error) {
	a, err := auth.AccessFrom(ctx)
	if err != nil {
		return nil, err
	}
	if in.Ticket == nil {
		return nil, errs.InvalidField("ticket", "is required")
	}
	paths, err := ticketFields.CheckMask(in.Paths)
	if err != nil {
		return nil, err
	}
	cur, err := s.loadTicket(ctx, a, "ticket.name", in.Name)
	if err != nil {
		return nil, err
	}
	id, _, err := idempotency.Run(ctx, s.store.InTx, "UpdateTicket", in.RequestID, in, func(ctx context.Context, tx Tx) (string, error) {
		t, err := s.lockActive(ctx, tx, cur.ID, in.Name, in.Etag)
		if err != nil {
			return "", err
		}
		next := *t
		for _, p := range paths {
			switch p {
			case "subject":
				next.Subject = in.Ticket.Subject
			case "description":
				next.Description = in.Ticket.Description
			case "priority":
				next.Priority = in.Ticket.Priority
			case "tags":
				next.Tags = slices.Clone(in.Ticket.Tags)
			case "type":
				next.Type = in.Ticket.Type
			case "channel":
				next.Channel = in.Ticket.Channel
			}
		}
		var v errs.Violations
		normalizeTicket(&v, &next, "ticket")
		if err := v.Err(); err != nil {
			return "", err
		}
		now := s.now()
		var changes []Change
		if next.Priority != t.Priority {
			changes = append(changes, Change{Field: "priority", From: t.Priority, To: next.Priority})
		}
		if next.Priority != t.Priority || next.Type != t.Type {
			if err := s.retarget(ctx, tx, &next, now); err != nil {
				return "", err
			}
		}
		next.Revision++
		next.UpdateTime = now
		if err := tx.UpdateTicket(ctx, &next); err != nil {
			return "", err
		}
		return next.ID, s.record(ctx, tx, a, &next, EventTicketUpdated, now, changes...)
	})
	if err != nil {
		return nil, err
	}
	return s.readTicket(ctx, a, id)
}

// retarget puts t under the policy now covering it.
func (s *Service) retarget(ctx context.Context, tx Tx, t *Ticket, now time.Time) error {
	old, err := s.calendarOf(ctx, t.PolicyID)
	if err != nil {
		return err
	}
	policies, err := s.policies(ctx, tx)
	if err != nil {
		return err
	}
	return applyPolicy(t, policyFor(policies, t), old, now)
}

// policies returns the SLA policies in precedence order, their calendars
// ready for the clocks.
func (s *Service) policies(ctx context.Context, tx Tx) ([]*Policy, error) {
	policies, err := tx.Policies(ctx)
	for _, p := range policies {
		p.Calendar.riskShare = s.cfg.AtRisk
	}
	return policies, err
}

// calendarOf returns the business calendar of a policy, nil for none.
func (s *Service) calendarOf(ctx context.Context, policyID string) (*Calendar, error) {
	if policyID == "" {
		return nil, nil
	}
	p, err := s.store.GetPolicy(ctx, policyID)
	if err != nil {
		return nil, err
	}
	if err := p.Calendar.Check("calendar"); err != nil {
		return nil, errs.Internal(err)
	}
	p.Calendar.riskShare = s.cfg.AtRisk
	return &p.Calendar, nil
}

// lockActive locks a live ticket for a change, checking the etag.
func (s *Service) lockActive(ctx context.Context, tx Tx, id, name, etag string) (*Ticket, error) {
	t, err := tx.LockTicket(ctx, id)
	if err != nil {
		return nil, err
	}
	if t.DeleteTime != nil {
		return nil, errs.FailedPrecondition("TICKET_DELETED", "%s is deleted; undelete it first", name)
	}
	return t, resource.CheckEtag(etag, t.Etag(), name)
}

// DeleteTicket soft-deletes a ticket.
func (s *Service) DeleteTicket(ctx context.Context, name, etag, requestID string) (*Ticket, error) {
	return s.setDeleted(ctx, name, etag, requestID, true)
}

// UndeleteTicket restores a soft-deleted ticket.
func (s *Service) UndeleteTicket(ctx context.Context, name, requestID string) (*Ticket, error) {
	return s.setDeleted(ctx, name, "", requestID, false)
}

func (s *Service) setDeleted(ctx context.Context, name, etag, requestID string, deleted bool) (*Ticket, error) {
	a, err := auth.AccessFrom(ctx)
	if err != nil {
		return nil, err
	}
	cur, err := s.loadTicket(ctx, a, "name", name)
	if err != nil {
		return nil, err
	}
	method, eventType := "UndeleteTicket", EventTicketUndeleted
	if deleted {
		method, eventType = "DeleteTicket", EventTicketDeleted
	}
	id, _, err := idempotency.Run(ctx, s.store.InTx, method, requestID, struct{ Name, Etag string }{name, etag}, func(ctx context.Context, tx Tx) (string, error) {
		t, err := tx.LockTicket(ctx, cur.ID)
		if err != nil {
			return "", err
		}
		if err := resource.CheckEtag(etag, t.Etag(), name); err != nil {
			return "", err
		}
		switch {
		case deleted && t.DeleteTime != nil:
			return "", errs.FailedPrecondition("TICKET_DELETED", "%s is already deleted", name)
		case !deleted && t.DeleteTime == nil:
			return "", errs.FailedPrecondition("TICKET_NOT_DELETED", "%s is not deleted", name)
		}
		now := s.now()
		t.DeleteTime = nil
		if deleted {
			t.DeleteTime = &now
		}
		t.Revision++
		t.UpdateTime = now
		if err := tx.UpdateTicket(ctx, t); err != nil {
			return "", err
		}
		return t.ID, s.record(ctx, tx, a, t, eventType, now)
	})
	if err != nil {
		return nil, err
	}
	return s.readTicket(ctx, a, id)
}

// ListChanges returns a ticket's history, oldest first.
func (s *Service) ListChanges(ctx context.Context, parent string, pageSize int32, pageToken string) ([]Change, string, error) {
	a, err := auth.AccessFrom(ctx)
	if err != nil {
		return nil, "", err
	}
	t, err := s.loadTicket(ctx, a, "parent", parent)
	if err != nil {
		return nil, "", err
	}
	size, err := pagetoken.Size(pageSize, defaultPageSize, maxPageSize)
	if err != nil {
		return nil, "", err
	}
	var after int64
	if pageToken != "" {
		if err := pagetoken.Decode(pageToken, "changes\x00"+parent, &after); err != nil {
			return nil, "", err
		}
	}
	changes, seqs, err := s.store.ListChanges(ctx, t.ID, after, size+1)
	if err != nil {
		return nil, "", err
	}
	next := ""
	if len(changes) > size {
		changes = changes[:size]
		next = pagetoken.Encode("changes\x00"+parent, seqs[size-1])
	}
	return changes, next, nil
}
