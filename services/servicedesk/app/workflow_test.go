package app

import (
	"slices"
	"testing"
	"time"

	"google.golang.org/grpc/codes"

	customerv1 "github.com/kehu-crm/kehu/pkg/api/kehu/customer/v1"
	sdv1 "github.com/kehu-crm/kehu/pkg/api/kehu/servicedesk/v1"
	"github.com/kehu-crm/kehu/pkg/auth"
	"github.com/kehu-crm/kehu/pkg/testkit"
)

// Managers reassign and escalate; deleted tickets take no changes until
// undeleted; a closed ticket reopens only within the window.
func TestAssignEscalateDeleteAndReopenWindow(t *testing.T) {
	t.Parallel()
	e := start(t, func(c *Config) { c.ReopenWindow = 50 * time.Millisecond })
	e.queue(t, "support", &sdv1.Queue{DisplayName: "Support", Members: members("alice")})
	e.queue(t, "second-line", &sdv1.Queue{DisplayName: "Second line", Members: members("sam"),
		RouteTypes: []sdv1.TicketType{sdv1.TicketType_TICKET_TYPE_TECHNICAL_SUPPORT}})
	c := e.customer(t, &customerv1.Customer{DisplayName: "Someone"})
	mgr := e.manager(t)
	tk := must[*sdv1.CreateTicketResponse](t)(e.desk.CreateTicket(mgr, &sdv1.CreateTicketRequest{Ticket: inquiry(c, "Help")})).GetTicket()

	re, err := e.desk.AssignTicket(mgr, &sdv1.AssignTicketRequest{Name: tk.GetName(), Assignee: "bob", Etag: tk.GetEtag()})
	if err != nil || re.GetTicket().GetAssignee() != "bob" {
		t.Fatalf("reassign: %v %v", re, err)
	}
	// Alice no longer holds it but it still waits in her queue.
	if _, err := e.desk.GetTicket(e.as(t, "alice", auth.RoleAgent), &sdv1.GetTicketRequest{Name: tk.GetName()}); err != nil {
		t.Errorf("alice, member of the queue: %v", err)
	}
	esc, err := e.desk.EscalateTicket(mgr, &sdv1.EscalateTicketRequest{Name: tk.GetName(), Reason: "needs an engineer", Queue: "queues/second-line"})
	if err != nil || esc.GetTicket().GetEscalationLevel() != 1 || esc.GetTicket().GetQueue() != "queues/second-line" || esc.GetTicket().GetAssignee() != "sam" {
		t.Fatalf("escalate: %v %v", esc, err)
	}
	_, err = e.desk.EscalateTicket(mgr, &sdv1.EscalateTicketRequest{Name: tk.GetName(), Reason: "x", Queue: "queues/nowhere"})
	testkit.WantCode(t, err, codes.InvalidArgument, "", "queue")

	if _, err := e.desk.DeleteTicket(mgr, &sdv1.DeleteTicketRequest{Name: tk.GetName()}); err != nil {
		t.Fatal(err)
	}
	if list, err := e.desk.ListTickets(mgr, &sdv1.ListTicketsRequest{}); err != nil || len(list.GetTickets()) != 0 {
		t.Errorf("deleted ticket listed: %v %v", list, err)
	}
	if got := mustGet(t, e, mgr, tk.GetName()); got.GetDeleteTime() == nil {
		t.Errorf("deleted ticket without delete_time: %v", got)
	}
	_, err = e.desk.TransitionTicket(mgr, &sdv1.TransitionTicketRequest{Name: tk.GetName(), Status: sdv1.Status_STATUS_OPEN})
	testkit.WantCode(t, err, codes.FailedPrecondition, "TICKET_DELETED", "")
	if _, err := e.desk.UndeleteTicket(mgr, &sdv1.UndeleteTicketRequest{Name: tk.GetName()}); err != nil {
		t.Fatal(err)
	}
	for _, s := range []sdv1.Status{sdv1.Status_STATUS_OPEN, sdv1.Status_STATUS_RESOLVED, sdv1.Status_STATUS_CLOSED} {
		if _, err := e.desk.TransitionTicket(mgr, &sdv1.TransitionTicketRequest{Name: tk.GetName(), Status: s}); err != nil {
			t.Fatal(err)
		}
	}
	time.Sleep(100 * time.Millisecond)
	_, err = e.desk.TransitionTicket(mgr, &sdv1.TransitionTicketRequest{Name: tk.GetName(), Status: sdv1.Status_STATUS_OPEN})
	testkit.WantCode(t, err, codes.FailedPrecondition, "REOPEN_WINDOW_PASSED", "")
}

// Every ticket tells its reader where it can go next, and that is exactly
// what TransitionTicket accepts: each listed status is taken, each other
// one refused. Readers who may not move tickets, deleted tickets and
// closed tickets past the reopen window offer nothing.
func TestNextStatusesAreWhatTransitionAccepts(t *testing.T) {
	t.Parallel()
	e := start(t, func(c *Config) { c.ReopenWindow = 2 * time.Second })
	e.queue(t, "support", &sdv1.Queue{DisplayName: "Support", Members: members("alice")})
	c := e.customer(t, &customerv1.Customer{DisplayName: "Someone"})
	mgr := e.manager(t)
	viewer := e.as(t, "vera", auth.RoleViewer)
	tk := must[*sdv1.CreateTicketResponse](t)(e.desk.CreateTicket(mgr, &sdv1.CreateTicketRequest{Ticket: inquiry(c, "Help")})).GetTicket()
	all := []sdv1.Status{sdv1.Status_STATUS_NEW, sdv1.Status_STATUS_OPEN, sdv1.Status_STATUS_PENDING_CUSTOMER, sdv1.Status_STATUS_RESOLVED, sdv1.Status_STATUS_CLOSED}
	path := []sdv1.Status{sdv1.Status_STATUS_OPEN, sdv1.Status_STATUS_PENDING_CUSTOMER, sdv1.Status_STATUS_OPEN, sdv1.Status_STATUS_RESOLVED,
		sdv1.Status_STATUS_OPEN, sdv1.Status_STATUS_RESOLVED, sdv1.Status_STATUS_CLOSED, sdv1.Status_STATUS_OPEN, sdv1.Status_STATUS_RESOLVED, sdv1.Status_STATUS_CLOSED}
	for _, to := range path {
		got := mustGet(t, e, mgr, tk.GetName())
		next := got.GetNextStatuses()
		if !slices.Contains(next, to) {
			t.Fatalf("%s offers %v, not %s", got.GetStatus(), next, to)
		}
		for _, s := range all {
			if slices.Contains(next, s) {
				continue
			}
			_, err := e.desk.TransitionTicket(mgr, &sdv1.TransitionTicketRequest{Name: tk.GetName(), Status: s})
			testkit.WantCode(t, err, codes.FailedPrecondition, "ILLEGAL_TRANSITION", "")
		}
		if v := mustGet(t, e, viewer, tk.GetName()); len(v.GetNextStatuses()) != 0 {
			t.Errorf("a viewer is offered %v", v.GetNextStatuses())
		}
		if _, err := e.desk.TransitionTicket(mgr, &sdv1.TransitionTicketRequest{Name: tk.GetName(), Status: to}); err != nil {
			t.Fatalf("%s → %s: %v", got.GetStatus(), to, err)
		}
	}
	if list, err := e.desk.ListTickets(mgr, &sdv1.ListTicketsRequest{}); err != nil || len(list.GetTickets()) != 1 ||
		!slices.Equal(list.GetTickets()[0].GetNextStatuses(), []sdv1.Status{sdv1.Status_STATUS_OPEN}) {
		t.Errorf("listed closed ticket: %v %v", list, err)
	}
	time.Sleep(2100 * time.Millisecond)
	if got := mustGet(t, e, mgr, tk.GetName()); len(got.GetNextStatuses()) != 0 {
		t.Errorf("closed past the reopen window, offered %v", got.GetNextStatuses())
	}
	_, err := e.desk.TransitionTicket(mgr, &sdv1.TransitionTicketRequest{Name: tk.GetName(), Status: sdv1.Status_STATUS_OPEN})
	testkit.WantCode(t, err, codes.FailedPrecondition, "REOPEN_WINDOW_PASSED", "")
	deleted := must[*sdv1.DeleteTicketResponse](t)(e.desk.DeleteTicket(mgr, &sdv1.DeleteTicketRequest{Name: tk.GetName()})).GetTicket()
	if len(deleted.GetNextStatuses()) != 0 {
		t.Errorf("a deleted ticket offers %v", deleted.GetNextStatuses())
	}
}
