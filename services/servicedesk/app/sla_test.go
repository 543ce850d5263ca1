package app

import (
	"context"
	"sync"
	"testing"
	"time"

	"google.golang.org/protobuf/types/known/durationpb"

	customerv1 "github.com/kehu-crm/kehu/pkg/api/kehu/customer/v1"
	sdv1 "github.com/kehu-crm/kehu/pkg/api/kehu/servicedesk/v1"
	"github.com/kehu-crm/kehu/pkg/auth"
)

// The SLA worker, run concurrently on two replicas, raises "at risk" and
// "breached" once each for the clock that passed them, and escalates the
// breached ticket once, into the escalation queue.
func TestSLAWorkerAcrossReplicas(t *testing.T) {
	t.Parallel()
	e := start(t, func(c *Config) { c.EscalationQueue = "escalations" })
	e.replica(t)
	e.policy(t, "fast", &sdv1.SlaPolicy{DisplayName: "Fast", FirstResponseTarget: durationpb.New(4 * time.Second), ResolutionTarget: hours(1)})
	e.queue(t, "support", &sdv1.Queue{DisplayName: "Support", Members: members("alice")})
	e.queue(t, "escalations", &sdv1.Queue{DisplayName: "Escalations", Members: members("lead")})
	c := e.customer(t, &customerv1.Customer{DisplayName: "Waiting"})
	tk := must[*sdv1.CreateTicketResponse](t)(e.desk.CreateTicket(e.manager(t), &sdv1.CreateTicketRequest{Ticket: inquiry(c, "Hello?")})).GetTicket()
	created := tk.GetCreateTime().AsTime()

	pass := func(at time.Time) (atRisk, breached int) {
		t.Helper()
		var (
			mu sync.Mutex
			wg sync.WaitGroup
		)
		for _, a := range e.apps {
			wg.Go(func() {
				rep, err := a.RunSLAOnce(context.Background(), at)
				if err != nil {
					t.Error(err)
				}
				mu.Lock()
				atRisk, breached = atRisk+rep.AtRisk, breached+rep.Breached
				mu.Unlock()
			})
		}
		wg.Wait()
		return atRisk, breached
	}
	if r, b := pass(created.Add(time.Second)); r+b != 0 {
		t.Fatalf("at 25%%: %d at risk, %d breached", r, b)
	}
	if r, b := pass(created.Add(3500 * time.Millisecond)); r != 1 || b != 0 {
		t.Fatalf("at 87%%: %d at risk, %d breached; want 1, 0", r, b)
	}
	if r, b := pass(created.Add(5 * time.Second)); r != 0 || b != 1 {
		t.Fatalf("past due: %d at risk, %d breached; want 0, 1", r, b)
	}
	if r, b := pass(created.Add(10 * time.Second)); r+b != 0 {
		t.Fatalf("again: %d at risk, %d breached", r, b)
	}
	got := mustGet(t, e, e.manager(t), tk.GetName())
	if got.GetEscalationLevel() != 1 || got.GetQueue() != "queues/escalations" || got.GetAssignee() != "lead" {
		t.Errorf("after the breach: level %d, queue %s, assignee %s", got.GetEscalationLevel(), got.GetQueue(), got.GetAssignee())
	}

	ctx, cancel := context.WithTimeout(e.as(t, "analytics", auth.RoleService), 3*time.Second)
	defer cancel()
	stream, err := e.desk.StreamEvents(ctx, &sdv1.StreamEventsRequest{})
	if err != nil {
		t.Fatal(err)
	}
	counts := map[string]int{}
	for {
		ev, err := stream.Recv()
		if err != nil {
			break
		}
		counts[ev.GetEvent().GetType()]++
		if ev.GetEvent().GetType() == "sla.breached" {
			var p sdv1.SlaAlertPayload
			if err := ev.GetEvent().GetPayload().UnmarshalTo(&p); err != nil || p.GetTarget() != "first_response" || p.GetTicket().GetEscalationLevel() != 1 {
				t.Errorf("breach payload %v %v", &p, err)
			}
		}
	}
	if counts["sla.at_risk"] != 1 || counts["sla.breached"] != 1 || counts["ticket.escalated"] != 1 {
		t.Errorf("events %v, want one at_risk, one breached, one escalated", counts)
	}
}
