package desk

import (
	"context"
	"time"

	"github.com/kehu-crm/kehu/pkg/auth"
	"github.com/kehu-crm/kehu/pkg/errs"
	"github.com/kehu-crm/kehu/pkg/event"
	"github.com/kehu-crm/kehu/pkg/idempotency"
	"github.com/kehu-crm/kehu/pkg/pagetoken"
)

// CreateCommentInput is the input of CreateComment.
type CreateCommentInput struct {
	Parent    string
	Comment   *Comment
	RequestID string
}

// CreateComment adds a comment. The first public reply by staff stops the
// first-response clock and opens a NEW ticket.
func (s *Service) CreateComment(ctx context.Context, in CreateCommentInput) (*Comment, error) {
	a, err := auth.AccessFrom(ctx)
	if err != nil {
		return nil, err
	}
	if in.Comment == nil {
		return nil, errs.InvalidField("comment", "is required")
	}
	var v errs.Violations
	checkText(&v, "comment.body", in.Comment.Body, maxCommentBody, true)
	checkEnum(&v, "comment.visibility", in.Comment.Visibility, []string{Public, Internal}, true)
	if err := v.Err(); err != nil {
		return nil, err
	}
	cur, err := s.loadTicket(ctx, a, "parent", in.Parent)
	if err != nil {
		return nil, err
	}
	cal, err := s.calendarOf(ctx, cur.PolicyID)
	if err != nil {
		return nil, err
	}
	id, _, err := idempotency.Run(ctx, s.store.InTx, "CreateComment", in.RequestID, in, func(ctx context.Context, tx Tx) (string, error) {
		t, err := s.lockActive(ctx, tx, cur.ID, in.Parent, "")
		if err != nil {
			return "", err
		}
		now := s.now()
		c := &Comment{ID: newID(), TicketID: t.ID, Author: a.Actor(), Visibility: in.Comment.Visibility, Body: in.Comment.Body, CreateTime: now}
		if err := tx.InsertComment(ctx, c); err != nil {
			return "", err
		}
		if err := tx.Emit(ctx, event.Event{Type: EventCommentCreated, Subject: CommentName(t.ID, c.ID), Actor: a.Actor(), Data: CommentCreated{Comment: c, CustomerID: t.CustomerID}}); err != nil {
			return "", err
		}
		if c.Visibility == Public && a.HasAny(auth.RoleAgent, auth.RoleManager, auth.RoleAdmin) && t.FirstResponded == nil {
			return c.ID, s.firstResponse(ctx, tx, a, t, cal, now)
		}
		return c.ID, nil
	})
	if err != nil {
		return nil, err
	}
	c, err := s.store.GetComment(ctx, cur.ID, id)
	if err != nil {
		return nil, err
	}
	return viewComment(a, c), nil
}

// firstResponse records the first public reply by staff.
func (s *Service) firstResponse(ctx context.Context, tx Tx, a auth.Access, t *Ticket, cal *Calendar, now time.Time) error {
	t.FirstResponded = &now
	if cal != nil {
		t.FirstResponse.stop(cal, now)
	}
	var changes []Change
	if t.Status == StatusNew {
		changes = append(changes, Change{Field: "status", From: t.Status, To: StatusOpen})
		t.Status = StatusOpen
	}
	t.Revision++
	t.UpdateTime = now
	if err := tx.UpdateTicket(ctx, t); err != nil {
		return err
	}
	return s.record(ctx, tx, a, t, EventTicketUpdated, now, changes...)
}

// ListComments lists a ticket's comments, oldest first.
func (s *Service) ListComments(ctx context.Context, parent string, pageSize int32, pageToken string) ([]*Comment, string, error) {
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
	query := "comments\x00" + parent
	var after Cursor
	if pageToken != "" {
		if err := pagetoken.Decode(pageToken, query, &after); err != nil {
			return nil, "", err
		}
	}
	rows, err := s.store.ListComments(ctx, t.ID, after, size+1)
	if err != nil {
		return nil, "", err
	}
	next := ""
	if len(rows) > size {
		rows = rows[:size]
		last := rows[size-1]
		next = pagetoken.Encode(query, Cursor{Key: last.CreateTime.Format(time.RFC3339Nano), ID: last.ID})
	}
	for n, c := range rows {
		rows[n] = viewComment(a, c)
	}
	return rows, next, nil
}
