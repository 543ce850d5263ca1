package desk

import (
	"context"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/kehu-crm/kehu/pkg/auth"
	"github.com/kehu-crm/kehu/pkg/errs"
	"github.com/kehu-crm/kehu/pkg/idempotency"
)

// transitions is the workflow: NEW → OPEN → PENDING_CUSTOMER ⇄ OPEN →
// RESOLVED → CLOSED, and reopening from RESOLVED (or from CLOSED within
// the reopen window).
var transitions = map[string][]string{
	StatusNew:             {StatusOpen},
	StatusOpen:            {StatusPendingCustomer, StatusResolved},
	StatusPendingCustomer: {StatusOpen},
	StatusResolved:        {StatusClosed, StatusOpen},
	StatusClosed:          {StatusOpen},
}

// nextStatuses are the statuses TransitionTicket would accept for t from
// a, now: none for a deleted ticket or a caller who may not move tickets,
// and no reopening once the reopen window has passed. Clients offer these
// rather than keeping their own copy of the workflow.
func (s *Service) nextStatuses(a auth.Access, t *Ticket) []string {
	if t.DeleteTime != nil || !(a.Has(auth.RoleAdmin) || a.HasAny(auth.Writers...)) {
		return nil
	}
	var out []string
	for _, st := range transitions[t.Status] {
		if t.Status == StatusClosed && st == StatusOpen && s.reopenPassed(t, s.now()) {
			continue
		}
		out = append(out, st)
	}
	return out
}

// reopenPassed reports a closed ticket past the reopen window.
func (s *Service) reopenPassed(t *Ticket, now time.Time) bool {
	return s.cfg.ReopenWindow > 0 && t.CloseTime != nil && now.Sub(*t.CloseTime) > s.cfg.ReopenWindow
}

// TransitionInput is the input of TransitionTicket.
type TransitionInput struct {
	Name              string
	Status            string
	RootCause         string
	ResolutionSummary string
	Etag              string
	RequestID         string
}

// TransitionTicket moves a ticket along its workflow; the SLA clocks pause
// while it waits for the customer and stop when it is resolved.
func (s *Service) TransitionTicket(ctx context.Context, in TransitionInput) (*Ticket, error) {
	a, err := auth.AccessFrom(ctx)
	if err != nil {
		return nil, err
	}
	var v errs.Violations
	checkEnum(&v, "status", in.Status, Statuses, true)
	checkText(&v, "root_cause", in.RootCause, 200, false)
	checkText(&v, "resolution_summary", in.ResolutionSummary, maxNote, false)
	if err := v.Err(); err != nil {
		return nil, err
	}
	cur, err := s.loadTicket(ctx, a, "name", in.Name)
	if err != nil {
		return nil, err
	}
	cal, err := s.calendarOf(ctx, cur.PolicyID)
	if err != nil {
		return nil, err
	}
	id, _, err := idempotency.Run(ctx, s.store.InTx, "TransitionTicket", in.RequestID, in, func(ctx context.Context, tx Tx) (string, error) {
		t, err := s.lockActive(ctx, tx, cur.ID, in.Name, in.Etag)
		if err != nil {
			return "", err
		}
		if !slices.Contains(transitions[t.Status], in.Status) {
			return "", errs.FailedPrecondition("ILLEGAL_TRANSITION", "%s is %s; from there it can go to %s, not %s",
				in.Name, t.Status, strings.Join(transitions[t.Status], " or "), in.Status).WithMetadata("status", t.Status)
		}
		now := s.now()
		from := t.Status
		switch in.Status {
		case StatusPendingCustomer:
			if cal != nil {
				t.FirstResponse.pause(cal, now)
				t.Resolution.pause(cal, now)
			}
		case StatusResolved:
			if t.Type == TypeComplaint {
				var v errs.Violations
				checkText(&v, "root_cause", in.RootCause, 200, true)
				checkText(&v, "resolution_summary", in.ResolutionSummary, maxNote, true)
				if err := v.Err(); err != nil {
					return "", err
				}
			}
			t.RootCause, t.ResolutionNote, t.ResolveTime = in.RootCause, in.ResolutionSummary, &now
			if t.Type == TypeComplaint {
				// 投诉 must be followed up: the visit is owed in this
				// transaction and delivered by the worker.
				if err := tx.OweVisit(ctx, s.owedVisit(t, VisitComplaint, now)); err != nil {
					return "", err
				}
			}
			if s.cfg.SurveyKind != "" {
				if err := s.issueSurvey(ctx, tx, t, now); err != nil {
					return "", err
				}
			}
			if cal != nil {
				t.FirstResponse.stop(cal, now)
				t.Resolution.stop(cal, now)
			}
		case StatusClosed:
			t.CloseTime = &now
		case StatusOpen:
			if from == StatusClosed && s.reopenPassed(t, now) {
				return "", errs.FailedPrecondition("REOPEN_WINDOW_PASSED", "%s was closed on %s; tickets reopen within %s of closing: open a new ticket",
					in.Name, t.CloseTime.Format("2006-01-02"), s.cfg.ReopenWindow)
			}
			if cal != nil {
				if from == StatusResolved || from == StatusClosed {
					if err := t.Resolution.reopen(cal, now); err != nil {
						return "", err
					}
				} else {
					for _, c := range []*Clock{&t.FirstResponse, &t.Resolution} {
						if err := c.start(cal, now); err != nil {
							return "", err
						}
					}
				}
			}
			if from == StatusResolved || from == StatusClosed {
				t.ResolveTime, t.CloseTime = nil, nil
			}
		}
		t.Status = in.Status
		t.Revision++
		t.UpdateTime = now
		if err := tx.UpdateTicket(ctx, t); err != nil {
			return "", err
		}
		return t.ID, s.record(ctx, tx, a, t, EventTicketStatusChanged, now, Change{Field: "status", From: from, To: t.Status})
	})
	if err != nil {
		return nil, err
	}
	return s.readTicket(ctx, a, id)
}

// AssignTicket gives a ticket to an agent, or back to its queue with "".
// Agents take tickets for themselves; managers assign anyone.
func (s *Service) AssignTicket(ctx context.Context, name, assignee, etag, requestID string) (*Ticket, error) {
	a, err := auth.AccessFrom(ctx)
	if err != nil {
		return nil, err
	}
	if len(assignee) > 128 {
		return nil, errs.InvalidField("assignee", "must be a user id of at most 128 characters")
	}
	if err := a.CheckAssignee(assignee, "assignee"); err != nil {
		return nil, err
	}
	cur, err := s.loadTicket(ctx, a, "name", name)
	if err != nil {
		return nil, err
	}
	id, _, err := idempotency.Run(ctx, s.store.InTx, "AssignTicket", requestID, struct{ Name, Assignee, Etag string }{name, assignee, etag}, func(ctx context.Context, tx Tx) (string, error) {
		t, err := s.lockActive(ctx, tx, cur.ID, name, etag)
		if err != nil {
			return "", err
		}
		if t.Assignee == assignee {
			return t.ID, nil
		}
		now := s.now()
		change := Change{Field: "assignee", From: t.Assignee, To: assignee}
		t.Assignee = assignee
		t.Revision++
		t.UpdateTime = now
		if err := tx.UpdateTicket(ctx, t); err != nil {
			return "", err
		}
		return t.ID, s.record(ctx, tx, a, t, EventTicketAssigned, now, change)
	})
	if err != nil {
		return nil, err
	}
	return s.readTicket(ctx, a, id)
}

// EscalateInput is the input of EscalateTicket.
type EscalateInput struct {
	Name, Reason, Queue, Etag, RequestID string
}

// EscalateTicket raises a ticket's escalation level and may move it to
// another queue (where it is assigned afresh).
func (s *Service) EscalateTicket(ctx context.Context, in EscalateInput) (*Ticket, error) {
	a, err := auth.AccessFrom(ctx)
	if err != nil {
		return nil, err
	}
	var v errs.Violations
	checkText(&v, "reason", in.Reason, maxNote, true)
	queueID := ""
	if in.Queue != "" {
		if queueID, err = ParseQueueName("queue", in.Queue); err != nil {
			v.Add("queue", "must be a name like \"queues/{id}\", got %q", in.Queue)
		}
	}
	if err := v.Err(); err != nil {
		return nil, err
	}
	cur, err := s.loadTicket(ctx, a, "name", in.Name)
	if err != nil {
		return nil, err
	}
	id, _, err := idempotency.Run(ctx, s.store.InTx, "EscalateTicket", in.RequestID, in, func(ctx context.Context, tx Tx) (string, error) {
		t, err := s.lockActive(ctx, tx, cur.ID, in.Name, in.Etag)
		if err != nil {
			return "", err
		}
		if !t.Active() {
			return "", errs.FailedPrecondition("TICKET_NOT_ACTIVE", "%s is %s; only active tickets are escalated", in.Name, t.Status).WithMetadata("status", t.Status)
		}
		changes, err := escalate(ctx, tx, t, queueID, in.Reason)
		if err != nil {
			return "", err
		}
		now := s.now()
		t.Revision++
		t.UpdateTime = now
		if err := tx.UpdateTicket(ctx, t); err != nil {
			return "", err
		}
		return t.ID, s.record(ctx, tx, a, t, EventTicketEscalated, now, changes...)
	})
	if err != nil {
		return nil, err
	}
	return s.readTicket(ctx, a, id)
}

// escalate raises t one level, moving it to queueID (assigned afresh
// there) when given; it returns the history entries.
func escalate(ctx context.Context, tx Tx, t *Ticket, queueID, reason string) ([]Change, error) {
	move := queueID != "" && queueID != t.QueueID
	if move {
		if _, err := tx.LockQueue(ctx, queueID); err != nil {
			return nil, invalidRef(err, "queue", QueueName(queueID))
		}
	}
	changes := []Change{{Field: "escalation_level", From: strconv.Itoa(t.Escalation), To: strconv.Itoa(t.Escalation+1) + ": " + reason}}
	t.Escalation++
	if !move {
		return changes, nil
	}
	changes = append(changes, Change{Field: "queue", From: queueName(t.QueueID), To: QueueName(queueID)})
	t.QueueID = queueID
	assignee, err := autoAssign(ctx, tx, queueID)
	if err != nil {
		return nil, err
	}
	if assignee != t.Assignee {
		changes = append(changes, Change{Field: "assignee", From: t.Assignee, To: assignee})
		t.Assignee = assignee
	}
	return changes, nil
}

// queueName is QueueName, or "" for no queue.
func queueName(id string) string {
	if id == "" {
		return ""
	}
	return QueueName(id)
}

// SlaStatus is what GetSlaStatus returns.
type SlaStatus struct {
	PolicyID      string
	FirstResponse TargetStatus
	Resolution    TargetStatus
}

// GetSlaStatus returns a ticket's SLA targets as they stand now.
func (s *Service) GetSlaStatus(ctx context.Context, name string) (SlaStatus, error) {
	a, err := auth.AccessFrom(ctx)
	if err != nil {
		return SlaStatus{}, err
	}
	t, err := s.loadTicket(ctx, a, "name", name)
	if err != nil {
		return SlaStatus{}, err
	}
	out := SlaStatus{PolicyID: t.PolicyID}
	cal, err := s.calendarOf(ctx, t.PolicyID)
	if err != nil || cal == nil {
		return out, err
	}
	now := s.now()
	if out.FirstResponse, err = t.FirstResponse.status(cal, now); err != nil {
		return out, err
	}
	out.Resolution, err = t.Resolution.status(cal, now)
	return out, err
}
