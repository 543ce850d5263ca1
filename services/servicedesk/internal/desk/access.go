package desk

import (
	"context"
	"slices"

	"github.com/kehu-crm/kehu/pkg/auth"
	"github.com/kehu-crm/kehu/pkg/errs"
)

// Tickets follow the platform's access rules (auth.Access): an agent sees
// the tickets assigned to them, those they opened and those waiting in the
// queues they work; others look absent. Masked callers (analysts,
// viewers) never see what customers wrote or what was answered.

// scopeOf is the caller's reach; nil for callers who see every ticket.
func (s *Service) scopeOf(ctx context.Context, a auth.Access) (*Scope, error) {
	if a.Scope() == "" {
		return nil, nil
	}
	queues, err := s.store.QueuesOf(ctx, a.Subject)
	if err != nil {
		return nil, err
	}
	return &Scope{User: a.Subject, Queues: queues}, nil
}

func (sc *Scope) covers(t *Ticket) bool {
	return sc == nil || t.Assignee == sc.User || t.Creator == sc.User || slices.Contains(sc.Queues, t.QueueID)
}

// canSee applies the agent rule to one ticket.
func (s *Service) canSee(ctx context.Context, a auth.Access, t *Ticket) (bool, error) {
	sc, err := s.scopeOf(ctx, a)
	if err != nil {
		return false, err
	}
	return sc.covers(t), nil
}

// loadTicket reads a ticket by name for the caller.
func (s *Service) loadTicket(ctx context.Context, a auth.Access, field, name string) (*Ticket, error) {
	id, err := ParseTicketName(field, name)
	if err != nil {
		return nil, err
	}
	t, err := s.store.GetTicket(ctx, id)
	if err != nil {
		return nil, notFoundAs(err, name)
	}
	ok, err := s.canSee(ctx, a, t)
	if err != nil {
		return nil, err
	}
	if !ok {
		return nil, errs.NotFound(name)
	}
	return t, nil
}

// readTicket reads a ticket back after a change, as the caller may see it
// now: a replayed request id answers no more than the caller may see.
func (s *Service) readTicket(ctx context.Context, a auth.Access, id string) (*Ticket, error) {
	t, err := s.loadTicket(ctx, a, "name", TicketName(id))
	if err != nil {
		return nil, err
	}
	return s.viewTicket(a, t), nil
}

func notFoundAs(err error, name string) error {
	if errs.Is(err, errs.KindNotFound) {
		return errs.NotFound(name)
	}
	return err
}

// viewTicket hides what the customer wrote and what was answered from
// masked callers, and tells the caller where the ticket can go next.
func (s *Service) viewTicket(a auth.Access, t *Ticket) *Ticket {
	c := *t
	c.Next = s.nextStatuses(a, t)
	if !a.Masked() {
		return &c
	}
	c.Description, c.ResolutionNote = "", ""
	if t.Survey != nil {
		r := *t.Survey
		r.Comment = ""
		c.Survey = &r
	}
	return &c
}

func viewComment(a auth.Access, c *Comment) *Comment {
	if !a.Masked() {
		return c
	}
	v := *c
	v.Body = ""
	return &v
}
