package desk

import (
	"context"
	"fmt"
	"time"

	"github.com/kehu-crm/kehu/pkg/auth"
	"github.com/kehu-crm/kehu/pkg/errs"
	"github.com/kehu-crm/kehu/pkg/event"
)

// SLA targets and alert kinds.
const (
	TargetFirstResponse = "first_response"
	TargetResolution    = "resolution"
	AlertAtRisk         = "AT_RISK"
	AlertBreached       = "BREACHED"
)

// Event types of SLA alerts.
const (
	EventSLAAtRisk   = "sla.at_risk"
	EventSLABreached = "sla.breached"
)

// Alert is an SLA alert raised for one target of a ticket.
type Alert struct {
	TicketID, Target, Kind string
}

// SLAAlert is the data of sla.* events: the ticket as the alert left it
// (escalated, for a breach), which target, and when it was or is due.
// Consumers notify the assignee and, for breaches, their manager.
type SLAAlert struct {
	Ticket *Ticket
	Target string
	Kind   string
	Due    time.Time
}

// slaActor signs what the SLA worker does.
var slaActor = auth.Access{Principal: auth.Principal{Subject: "kehu-servicedesk-sla", Roles: []auth.Role{auth.RoleService}}}

// alertBatch bounds one transaction of the SLA worker.
const alertBatch = 200

// SLAReport says what one pass of the SLA worker did.
type SLAReport struct {
	AtRisk, Breached int
}

// RunSLA raises the SLA alerts due as of now: "at risk" once a running
// clock passes the at-risk share of its target, "breached" once it passes
// the target, each exactly once per ticket and target (the store records
// raised alerts under a unique key, so replicas running the same pass
// concurrently raise each alert once). A breach escalates the ticket: one
// level up and, when configured, into the escalation queue.
func (s *Service) RunSLA(ctx context.Context, now time.Time) (SLAReport, error) {
	var rep SLAReport
	for {
		var n int
		err := s.store.InTx(ctx, func(ctx context.Context, tx Tx) error {
			alerts, err := tx.RaiseAlerts(ctx, now, alertBatch)
			if err != nil {
				return err
			}
			n = len(alerts)
			for _, al := range alerts {
				if err := s.alert(ctx, tx, al, now); err != nil {
					return err
				}
				if al.Kind == AlertBreached {
					rep.Breached++
				} else {
					rep.AtRisk++
				}
			}
			return nil
		})
		if err != nil {
			return rep, fmt.Errorf("raising SLA alerts: %w", err)
		}
		if n < alertBatch {
			return rep, nil
		}
	}
}

// alert publishes one raised alert, escalating the ticket on a breach.
func (s *Service) alert(ctx context.Context, tx Tx, al Alert, now time.Time) error {
	t, err := tx.LockTicket(ctx, al.TicketID)
	if err != nil {
		return err
	}
	clock := t.Resolution
	if al.Target == TargetFirstResponse {
		clock = t.FirstResponse
	}
	var due time.Time
	if clock.Due != nil {
		due = *clock.Due
	}
	eventType := EventSLAAtRisk
	if al.Kind == AlertBreached {
		eventType = EventSLABreached
		reason := "SLA " + al.Target + " target breached"
		changes, err := escalate(ctx, tx, t, s.cfg.EscalationQueue, reason)
		if errs.Is(err, errs.KindInvalidArgument) {
			// The configured escalation queue is gone: escalate in place
			// rather than leave the breach unraised.
			changes, err = escalate(ctx, tx, t, "", reason)
		}
		if err != nil {
			return err
		}
		t.Revision++
		t.UpdateTime = now
		if err := tx.UpdateTicket(ctx, t); err != nil {
			return err
		}
		if err := s.record(ctx, tx, slaActor, t, EventTicketEscalated, now, changes...); err != nil {
			return err
		}
	}
	return tx.Emit(ctx, event.Event{Type: eventType, Subject: t.Name(), Actor: slaActor.Actor(),
		Data: SLAAlert{Ticket: t, Target: al.Target, Kind: al.Kind, Due: due}})
}
