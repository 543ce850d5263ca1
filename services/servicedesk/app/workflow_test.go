package app

import (
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
