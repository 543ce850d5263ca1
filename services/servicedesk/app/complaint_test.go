package app

import (
	"context"
	"testing"
	"time"

	customerv1 "github.com/kehu-crm/kehu/pkg/api/kehu/customer/v1"
	interactionv1 "github.com/kehu-crm/kehu/pkg/api/kehu/interaction/v1"
	sdv1 "github.com/kehu-crm/kehu/pkg/api/kehu/servicedesk/v1"
)

// Resolving a complaint plans one follow-up visit (回访) for the customer's
// account manager in the interaction service, however often the resolve
// is retried and the delivery repeated.
func TestResolvedComplaintPlansOneVisit(t *testing.T) {
	t.Parallel()
	e := start(t)
	e.replica(t)
	c := e.customer(t, &customerv1.Customer{DisplayName: "Angry", AccountManager: "bob"})
	complaint := inquiry(c, "Wrong colour delivered")
	complaint.Type = sdv1.TicketType_TICKET_TYPE_COMPLAINT
	mgr := e.manager(t)
	tk := must[*sdv1.CreateTicketResponse](t)(e.desk.CreateTicket(mgr, &sdv1.CreateTicketRequest{Ticket: complaint})).GetTicket()
	if _, err := e.desk.TransitionTicket(mgr, &sdv1.TransitionTicketRequest{Name: tk.GetName(), Status: sdv1.Status_STATUS_OPEN}); err != nil {
		t.Fatal(err)
	}
	resolve := &sdv1.TransitionTicketRequest{Name: tk.GetName(), Status: sdv1.Status_STATUS_RESOLVED,
		RootCause: "picking-error", ResolutionSummary: "Exchanged for the right colour", RequestId: "resolve-1"}
	resolvedAt := time.Now()
	for range 2 {
		if _, err := e.desk.TransitionTicket(mgr, resolve); err != nil {
			t.Fatal(err)
		}
	}
	// Reopened and resolved again: still one visit per complaint.
	if _, err := e.desk.TransitionTicket(mgr, &sdv1.TransitionTicketRequest{Name: tk.GetName(), Status: sdv1.Status_STATUS_OPEN}); err != nil {
		t.Fatal(err)
	}
	resolve.RequestId = "resolve-2"
	if _, err := e.desk.TransitionTicket(mgr, resolve); err != nil {
		t.Fatal(err)
	}
	for range 2 {
		for _, a := range e.apps {
			if _, err := a.DeliverVisitsOnce(context.Background()); err != nil {
				t.Fatal(err)
			}
		}
	}
	list, err := e.interactions.ListFollowUps(mgr, &interactionv1.ListFollowUpsRequest{Parent: c})
	if err != nil {
		t.Fatal(err)
	}
	if len(list.GetFollowUps()) != 1 {
		t.Fatalf("%d follow-ups, want 1: %v", len(list.GetFollowUps()), list.GetFollowUps())
	}
	v := list.GetFollowUps()[0]
	if v.GetAssignee() != "bob" || v.GetState() != interactionv1.FollowUp_STATE_PLANNED {
		t.Errorf("visit: %v", v)
	}
	if due := v.GetDueTime().AsTime(); due.Sub(resolvedAt) < 71*time.Hour || due.Sub(resolvedAt) > 73*time.Hour {
		t.Errorf("visit due %s after resolving, want 72h", due.Sub(resolvedAt))
	}
	// Inquiries owe no visit.
	other := must[*sdv1.CreateTicketResponse](t)(e.desk.CreateTicket(mgr, &sdv1.CreateTicketRequest{Ticket: inquiry(c, "Opening hours")})).GetTicket()
	for _, s := range []sdv1.Status{sdv1.Status_STATUS_OPEN, sdv1.Status_STATUS_RESOLVED} {
		if _, err := e.desk.TransitionTicket(mgr, &sdv1.TransitionTicketRequest{Name: other.GetName(), Status: s}); err != nil {
			t.Fatal(err)
		}
	}
	if n, err := e.apps[0].DeliverVisitsOnce(context.Background()); err != nil || n != 0 {
		t.Errorf("inquiry planned %d visits (%v)", n, err)
	}
}
