package app

import (
	"context"
	"sync"
	"testing"
	"time"

	"google.golang.org/grpc/codes"
	"google.golang.org/protobuf/types/known/fieldmaskpb"

	customerv1 "github.com/kehu-crm/kehu/pkg/api/kehu/customer/v1"
	sdv1 "github.com/kehu-crm/kehu/pkg/api/kehu/servicedesk/v1"
	"github.com/kehu-crm/kehu/pkg/auth"
	"github.com/kehu-crm/kehu/pkg/testkit"
)

// A ticket of a tier-A customer is routed, assigned, put under the tighter
// policy, answered, paused while waiting for the customer, resolved,
// closed and reopened; every step is in its history.
func TestTicketLifecycle(t *testing.T) {
	t.Parallel()
	e := start(t)
	e.policy(t, "tier-a", &sdv1.SlaPolicy{DisplayName: "Tier A", ValueTiers: []sdv1.ValueTier{sdv1.ValueTier_VALUE_TIER_A},
		Precedence: 1, FirstResponseTarget: hours(1), ResolutionTarget: hours(8)})
	e.policy(t, "standard", &sdv1.SlaPolicy{DisplayName: "Standard", Precedence: 10, FirstResponseTarget: hours(8), ResolutionTarget: hours(72)})
	e.queue(t, "support", &sdv1.Queue{DisplayName: "Support", Members: members("alice", "bob")})
	vip := e.customer(t, &customerv1.Customer{DisplayName: "VIP", ValueTier: customerv1.ValueTier_VALUE_TIER_A})
	plain := e.customer(t, &customerv1.Customer{DisplayName: "Plain"})
	mgr := e.manager(t)
	ok := must[*sdv1.CreateTicketResponse](t)

	created := time.Now()
	first := ok(e.desk.CreateTicket(mgr, &sdv1.CreateTicketRequest{Ticket: inquiry(vip, "Where is my order?"), RequestId: "t-1"})).GetTicket()
	if first.GetQueue() != "queues/support" || first.GetAssignee() == "" || first.GetStatus() != sdv1.Status_STATUS_NEW ||
		first.GetSlaPolicy() != "slaPolicies/tier-a" || first.GetValueTier() != sdv1.ValueTier_VALUE_TIER_A {
		t.Fatalf("created: %v", first)
	}
	if due := first.GetFirstResponse().GetDueTime().AsTime(); due.Sub(created) < 59*time.Minute || due.Sub(created) > 61*time.Minute {
		t.Errorf("first response due %s after creation, want 1h", due.Sub(created))
	}
	second := ok(e.desk.CreateTicket(mgr, &sdv1.CreateTicketRequest{Ticket: inquiry(plain, "Invoice copy")})).GetTicket()
	if second.GetSlaPolicy() != "slaPolicies/standard" || second.GetAssignee() == first.GetAssignee() {
		t.Errorf("second ticket: policy %s, assignee %s (first went to %s)", second.GetSlaPolicy(), second.GetAssignee(), first.GetAssignee())
	}
	// A retried create is the same ticket.
	if again := ok(e.desk.CreateTicket(mgr, &sdv1.CreateTicketRequest{Ticket: inquiry(vip, "Where is my order?"), RequestId: "t-1"})).GetTicket(); again.GetName() != first.GetName() {
		t.Errorf("replay created %s, want %s", again.GetName(), first.GetName())
	}

	agent := e.as(t, first.GetAssignee(), auth.RoleAgent)
	// An internal note does not count as a response; a public reply does.
	for _, c := range []*sdv1.Comment{
		{Visibility: sdv1.Visibility_VISIBILITY_INTERNAL, Body: "Checking the warehouse"},
		{Visibility: sdv1.Visibility_VISIBILITY_PUBLIC, Body: "Your parcel ships today"},
	} {
		if _, err := e.desk.CreateComment(agent, &sdv1.CreateCommentRequest{Parent: first.GetName(), Comment: c}); err != nil {
			t.Fatal(err)
		}
	}
	got := mustGet(t, e, agent, first.GetName())
	if got.GetStatus() != sdv1.Status_STATUS_OPEN || got.GetFirstResponse().GetState() != sdv1.ClockState_CLOCK_STATE_MET || got.GetFirstResponseTime() == nil {
		t.Fatalf("after the public reply: status %s, first response %v", got.GetStatus(), got.GetFirstResponse())
	}

	transition := func(status sdv1.Status, etag string) (*sdv1.Ticket, error) {
		resp, err := e.desk.TransitionTicket(agent, &sdv1.TransitionTicketRequest{Name: first.GetName(), Status: status, Etag: etag})
		return resp.GetTicket(), err
	}
	pending, err := transition(sdv1.Status_STATUS_PENDING_CUSTOMER, got.GetEtag())
	if err != nil {
		t.Fatal(err)
	}
	if pending.GetResolution().GetState() != sdv1.ClockState_CLOCK_STATE_PAUSED || pending.GetResolution().GetDueTime() != nil {
		t.Fatalf("waiting for the customer: %v", pending.GetResolution())
	}
	st, err := e.desk.GetSlaStatus(agent, &sdv1.GetSlaStatusRequest{Name: first.GetName()})
	if err != nil || st.GetResolution().GetPredictedBreachTime() == nil || st.GetResolution().GetRemaining().AsDuration() > 8*time.Hour {
		t.Fatalf("SLA status while paused: %v %v", st, err)
	}
	_, err = transition(sdv1.Status_STATUS_RESOLVED, "")
	st2 := testkit.WantCode(t, err, codes.FailedPrecondition, "ILLEGAL_TRANSITION", "")
	if testkit.ErrorInfo(st2).GetMetadata()["status"] != "PENDING_CUSTOMER" {
		t.Errorf("illegal transition does not name the status: %v", st2)
	}
	_, err = transition(sdv1.Status_STATUS_OPEN, got.GetEtag())
	testkit.WantCode(t, err, codes.Aborted, "", "")
	for _, s := range []sdv1.Status{sdv1.Status_STATUS_OPEN, sdv1.Status_STATUS_RESOLVED, sdv1.Status_STATUS_CLOSED, sdv1.Status_STATUS_OPEN} {
		if _, err := transition(s, ""); err != nil {
			t.Fatalf("to %s: %v", s, err)
		}
	}
	reopened := mustGet(t, e, agent, first.GetName())
	if reopened.GetResolution().GetState() != sdv1.ClockState_CLOCK_STATE_RUNNING || reopened.GetCloseTime() != nil {
		t.Errorf("reopened: %v", reopened)
	}

	changes, err := e.desk.ListTicketChanges(agent, &sdv1.ListTicketChangesRequest{Parent: first.GetName()})
	if err != nil {
		t.Fatal(err)
	}
	var statuses []string
	for _, c := range changes.GetChanges() {
		if c.GetField() == "status" {
			statuses = append(statuses, c.GetFrom()+">"+c.GetTo())
		}
		if c.GetActor() == "" || c.GetTime() == nil {
			t.Errorf("change without actor or time: %v", c)
		}
	}
	want := []string{">NEW", "NEW>OPEN", "OPEN>PENDING_CUSTOMER", "PENDING_CUSTOMER>OPEN", "OPEN>RESOLVED", "RESOLVED>CLOSED", "CLOSED>OPEN"}
	if len(statuses) != len(want) {
		t.Fatalf("status history %v, want %v", statuses, want)
	}
	for n := range want {
		if statuses[n] != want[n] {
			t.Errorf("status history %v, want %v", statuses, want)
			break
		}
	}
}

func mustGet(t *testing.T, e *env, ctx context.Context, name string) *sdv1.Ticket {
	t.Helper()
	resp, err := e.desk.GetTicket(ctx, &sdv1.GetTicketRequest{Name: name})
	if err != nil {
		t.Fatal(err)
	}
	return resp.GetTicket()
}

// Complaints go to the complaint queue and cannot be resolved without a
// root cause and a summary.
func TestComplaintsNeedARootCause(t *testing.T) {
	t.Parallel()
	e := start(t)
	e.queue(t, "general", &sdv1.Queue{DisplayName: "General", Members: members("alice")})
	e.queue(t, "complaints", &sdv1.Queue{DisplayName: "Complaints", Members: members("carol"), ComplaintQueue: true})
	c := e.customer(t, &customerv1.Customer{DisplayName: "Unhappy"})
	complaint := inquiry(c, "Broken on arrival")
	complaint.Type = sdv1.TicketType_TICKET_TYPE_COMPLAINT
	tk := must[*sdv1.CreateTicketResponse](t)(e.desk.CreateTicket(e.manager(t), &sdv1.CreateTicketRequest{Ticket: complaint})).GetTicket()
	if tk.GetQueue() != "queues/complaints" || tk.GetAssignee() != "carol" {
		t.Fatalf("complaint routed to %s / %s", tk.GetQueue(), tk.GetAssignee())
	}
	carol := e.as(t, "carol", auth.RoleAgent)
	for _, s := range []sdv1.Status{sdv1.Status_STATUS_OPEN} {
		if _, err := e.desk.TransitionTicket(carol, &sdv1.TransitionTicketRequest{Name: tk.GetName(), Status: s}); err != nil {
			t.Fatal(err)
		}
	}
	_, err := e.desk.TransitionTicket(carol, &sdv1.TransitionTicketRequest{Name: tk.GetName(), Status: sdv1.Status_STATUS_RESOLVED})
	testkit.WantCode(t, err, codes.InvalidArgument, "", "root_cause")
	resolved, err := e.desk.TransitionTicket(carol, &sdv1.TransitionTicketRequest{Name: tk.GetName(), Status: sdv1.Status_STATUS_RESOLVED,
		RootCause: "shipping-damage", ResolutionSummary: "Replacement sent, courier claim filed"})
	if err != nil || resolved.GetTicket().GetRootCause() != "shipping-damage" {
		t.Fatalf("resolve: %v %v", resolved, err)
	}
	// Other tickets go to the catch-all queue, tier-A customers' to theirs.
	other := must[*sdv1.CreateTicketResponse](t)(e.desk.CreateTicket(e.manager(t), &sdv1.CreateTicketRequest{Ticket: inquiry(c, "Opening hours?")})).GetTicket()
	if other.GetQueue() != "queues/general" {
		t.Errorf("inquiry routed to %s", other.GetQueue())
	}
	e.queue(t, "vip", &sdv1.Queue{DisplayName: "VIP", Members: members("vera"), RouteValueTiers: []sdv1.ValueTier{sdv1.ValueTier_VALUE_TIER_A}, RoutingOrder: 1})
	vip := e.customer(t, &customerv1.Customer{DisplayName: "Big spender", ValueTier: customerv1.ValueTier_VALUE_TIER_A})
	routed := must[*sdv1.CreateTicketResponse](t)(e.desk.CreateTicket(e.manager(t), &sdv1.CreateTicketRequest{Ticket: inquiry(vip, "Opening hours?")})).GetTicket()
	if routed.GetQueue() != "queues/vip" || routed.GetAssignee() != "vera" {
		t.Errorf("tier-A inquiry routed to %s / %s", routed.GetQueue(), routed.GetAssignee())
	}
}

// Bad input names the field and writes nothing.
func TestBadInputRefused(t *testing.T) {
	t.Parallel()
	e := start(t)
	mgr := e.manager(t)
	c := e.customer(t, &customerv1.Customer{DisplayName: "Someone", AccountManager: "bob"})
	long := make([]byte, 20001)
	for n := range long {
		long[n] = 'x'
	}
	for name, tc := range map[string]struct {
		ticket *sdv1.Ticket
		field  string
		code   codes.Code
	}{
		"unknown customer": {inquiry("customers/0190a000-0000-7000-8000-000000000000", "x"), "ticket.customer", codes.NotFound},
		"bad customer":     {inquiry("people/1", "x"), "ticket.customer", codes.InvalidArgument},
		"no subject":       {inquiry(c, ""), "ticket.subject", codes.InvalidArgument},
		"no type":          {&sdv1.Ticket{Customer: c, Channel: sdv1.Channel_CHANNEL_EMAIL, Subject: "x"}, "ticket.type", codes.InvalidArgument},
		"unknown queue":    {&sdv1.Ticket{Customer: c, Type: sdv1.TicketType_TICKET_TYPE_INQUIRY, Channel: sdv1.Channel_CHANNEL_EMAIL, Subject: "x", Queue: "queues/nowhere"}, "ticket.queue", codes.InvalidArgument},
		"long description": {&sdv1.Ticket{Customer: c, Type: sdv1.TicketType_TICKET_TYPE_INQUIRY, Channel: sdv1.Channel_CHANNEL_EMAIL, Subject: "x", Description: string(long)}, "ticket.description", codes.InvalidArgument},
	} {
		_, err := e.desk.CreateTicket(mgr, &sdv1.CreateTicketRequest{Ticket: tc.ticket})
		testkit.WantCode(t, err, tc.code, "", tc.field)
		_ = name
	}
	// An agent cannot open a ticket for a customer they cannot see.
	_, err := e.desk.CreateTicket(e.as(t, "alice", auth.RoleAgent), &sdv1.CreateTicketRequest{Ticket: inquiry(c, "x")})
	testkit.WantCode(t, err, codes.NotFound, "CUSTOMER_NOT_FOUND", "ticket.customer")
	if list, err := e.desk.ListTickets(mgr, &sdv1.ListTicketsRequest{}); err != nil || len(list.GetTickets()) != 0 {
		t.Fatalf("bad input wrote tickets: %v %v", list, err)
	}

	tk := must[*sdv1.CreateTicketResponse](t)(e.desk.CreateTicket(mgr, &sdv1.CreateTicketRequest{Ticket: inquiry(c, "ok")})).GetTicket()
	_, err = e.desk.CreateComment(mgr, &sdv1.CreateCommentRequest{Parent: tk.GetName(), Comment: &sdv1.Comment{Visibility: sdv1.Visibility_VISIBILITY_PUBLIC, Body: string(long)}})
	testkit.WantCode(t, err, codes.InvalidArgument, "", "comment.body")

	week := roundTheClock()
	for name, tc := range map[string]struct {
		policy *sdv1.SlaPolicy
		field  string
	}{
		"zero target": {&sdv1.SlaPolicy{DisplayName: "x", FirstResponseTarget: hours(0), ResolutionTarget: hours(1), Calendar: week}, "sla_policy.first_response_target"},
		"unknown zone": {&sdv1.SlaPolicy{DisplayName: "x", FirstResponseTarget: hours(1), ResolutionTarget: hours(1),
			Calendar: &sdv1.BusinessCalendar{TimeZone: "Mars/Olympus", WorkingHours: week.GetWorkingHours()}}, "sla_policy.calendar.time_zone"},
		"overlapping blocks": {&sdv1.SlaPolicy{DisplayName: "x", FirstResponseTarget: hours(1), ResolutionTarget: hours(1),
			Calendar: &sdv1.BusinessCalendar{TimeZone: "UTC", WorkingHours: []*sdv1.WorkingHours{
				{Day: sdv1.DayOfWeek_DAY_OF_WEEK_MONDAY, Start: "09:00", End: "13:00"}, {Day: sdv1.DayOfWeek_DAY_OF_WEEK_MONDAY, Start: "12:00", End: "18:00"}}}}, "sla_policy.calendar.working_hours[Monday]"},
		"inverted block": {&sdv1.SlaPolicy{DisplayName: "x", FirstResponseTarget: hours(1), ResolutionTarget: hours(1),
			Calendar: &sdv1.BusinessCalendar{TimeZone: "UTC", WorkingHours: []*sdv1.WorkingHours{{Day: sdv1.DayOfWeek_DAY_OF_WEEK_MONDAY, Start: "18:00", End: "09:00"}}}}, "sla_policy.calendar.working_hours[Monday]"},
		"bad time": {&sdv1.SlaPolicy{DisplayName: "x", FirstResponseTarget: hours(1), ResolutionTarget: hours(1),
			Calendar: &sdv1.BusinessCalendar{TimeZone: "UTC", WorkingHours: []*sdv1.WorkingHours{{Day: sdv1.DayOfWeek_DAY_OF_WEEK_MONDAY, Start: "9am", End: "18:00"}}}}, "sla_policy.calendar.working_hours[0].start"},
	} {
		_, err := e.desk.CreateSlaPolicy(mgr, &sdv1.CreateSlaPolicyRequest{SlaPolicyId: "p-" + "x", SlaPolicy: tc.policy})
		testkit.WantCode(t, err, codes.InvalidArgument, "", tc.field)
		_ = name
	}
	if list, err := e.desk.ListSlaPolicies(mgr, &sdv1.ListSlaPoliciesRequest{}); err != nil || len(list.GetSlaPolicies()) != 0 {
		t.Fatalf("bad policies were written: %v %v", list, err)
	}
}

// Agents see the tickets of their queues, assigned to them or opened by
// them; viewers see tickets without what the customer wrote.
func TestTicketVisibility(t *testing.T) {
	t.Parallel()
	e := start(t)
	e.queue(t, "support", &sdv1.Queue{DisplayName: "Support", Members: members("alice")})
	c := e.customer(t, &customerv1.Customer{DisplayName: "Pool customer"})
	tk := must[*sdv1.CreateTicketResponse](t)(e.desk.CreateTicket(e.manager(t), &sdv1.CreateTicketRequest{Ticket: inquiry(c, "Refund please")})).GetTicket()
	dave := e.as(t, "dave", auth.RoleAgent)
	_, err := e.desk.GetTicket(dave, &sdv1.GetTicketRequest{Name: tk.GetName()})
	testkit.WantCode(t, err, codes.NotFound, "", "")
	if list, err := e.desk.ListTickets(dave, &sdv1.ListTicketsRequest{}); err != nil || len(list.GetTickets()) != 0 {
		t.Errorf("dave lists %v %v", list, err)
	}
	_, err = e.desk.CreateComment(dave, &sdv1.CreateCommentRequest{Parent: tk.GetName(), Comment: &sdv1.Comment{Visibility: sdv1.Visibility_VISIBILITY_PUBLIC, Body: "hi"}})
	testkit.WantCode(t, err, codes.NotFound, "", "")
	if _, err := e.desk.GetTicket(e.as(t, "alice", auth.RoleAgent), &sdv1.GetTicketRequest{Name: tk.GetName()}); err != nil {
		t.Errorf("alice, a member of the queue: %v", err)
	}
	// Agents take work for themselves only.
	_, err = e.desk.AssignTicket(e.as(t, "alice", auth.RoleAgent), &sdv1.AssignTicketRequest{Name: tk.GetName(), Assignee: "dave"})
	testkit.WantCode(t, err, codes.PermissionDenied, "", "")

	if _, err := e.desk.CreateComment(e.manager(t), &sdv1.CreateCommentRequest{Parent: tk.GetName(), Comment: &sdv1.Comment{Visibility: sdv1.Visibility_VISIBILITY_PUBLIC, Body: "We refund today"}}); err != nil {
		t.Fatal(err)
	}
	viewer := e.as(t, "vic", auth.RoleViewer)
	v, err := e.desk.GetTicket(viewer, &sdv1.GetTicketRequest{Name: tk.GetName()})
	if err != nil || v.GetTicket().GetDescription() != "" || v.GetTicket().GetSubject() == "" {
		t.Errorf("viewer: %v %v", v, err)
	}
	comments, err := e.desk.ListComments(viewer, &sdv1.ListCommentsRequest{Parent: tk.GetName()})
	if err != nil || len(comments.GetComments()) != 1 || comments.GetComments()[0].GetBody() != "" {
		t.Errorf("viewer comments: %v %v", comments, err)
	}
	_, err = e.desk.CreateTicket(viewer, &sdv1.CreateTicketRequest{Ticket: inquiry(c, "x")})
	testkit.WantCode(t, err, codes.PermissionDenied, "", "")
}

// Concurrent creates on two replicas spread tickets evenly over a queue's
// available members; an unavailable member gets none.
func TestAutoAssignmentUnderConcurrency(t *testing.T) {
	t.Parallel()
	e := start(t)
	q := &sdv1.Queue{DisplayName: "Support", Members: members("alice", "bob", "carol")}
	q.Members[2].Available = false
	e.queue(t, "support", q)
	c := e.customer(t, &customerv1.Customer{DisplayName: "Busy"})
	replicas := []sdv1.ServiceDeskServiceClient{e.desk, e.replica(t)}
	var wg sync.WaitGroup
	errs := make(chan error, 20)
	for n := range 20 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			_, err := replicas[n%2].CreateTicket(e.manager(t), &sdv1.CreateTicketRequest{Ticket: inquiry(c, "Question")})
			errs <- err
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Fatal(err)
		}
	}
	counts := map[string]int{}
	list, err := e.desk.ListTickets(e.manager(t), &sdv1.ListTicketsRequest{PageSize: 100})
	if err != nil {
		t.Fatal(err)
	}
	for _, tk := range list.GetTickets() {
		counts[tk.GetAssignee()]++
	}
	if counts["alice"] != 10 || counts["bob"] != 10 || counts["carol"] != 0 {
		t.Errorf("assignments %v, want alice 10, bob 10, carol 0", counts)
	}
}

// A new priority re-targets the clocks; filters and order_by find tickets
// by SLA state and priority.
func TestPriorityRetargetsAndFilters(t *testing.T) {
	t.Parallel()
	e := start(t)
	e.policy(t, "urgent", &sdv1.SlaPolicy{DisplayName: "Urgent", Priorities: []sdv1.Priority{sdv1.Priority_PRIORITY_URGENT}, Precedence: 1, FirstResponseTarget: hours(0.5), ResolutionTarget: hours(4)})
	e.policy(t, "normal", &sdv1.SlaPolicy{DisplayName: "Normal", Precedence: 5, FirstResponseTarget: hours(8), ResolutionTarget: hours(48)})
	c := e.customer(t, &customerv1.Customer{DisplayName: "Someone"})
	mgr := e.manager(t)
	tk := must[*sdv1.CreateTicketResponse](t)(e.desk.CreateTicket(mgr, &sdv1.CreateTicketRequest{Ticket: inquiry(c, "Down!")})).GetTicket()
	before := tk.GetResolution().GetDueTime().AsTime()
	up, err := e.desk.UpdateTicket(mgr, &sdv1.UpdateTicketRequest{
		Ticket:     &sdv1.Ticket{Name: tk.GetName(), Priority: sdv1.Priority_PRIORITY_URGENT, Etag: tk.GetEtag()},
		UpdateMask: &fieldmaskpb.FieldMask{Paths: []string{"priority"}},
	})
	if err != nil {
		t.Fatal(err)
	}
	after := up.GetTicket().GetResolution().GetDueTime().AsTime()
	if up.GetTicket().GetSlaPolicy() != "slaPolicies/urgent" || before.Sub(after) < 43*time.Hour {
		t.Errorf("urgent: policy %s, due moved from %s to %s", up.GetTicket().GetSlaPolicy(), before, after)
	}
	_, err = e.desk.UpdateTicket(mgr, &sdv1.UpdateTicketRequest{
		Ticket: &sdv1.Ticket{Name: tk.GetName(), Assignee: "x"}, UpdateMask: &fieldmaskpb.FieldMask{Paths: []string{"assignee"}}})
	testkit.WantCode(t, err, codes.InvalidArgument, "", "update_mask")

	other := must[*sdv1.CreateTicketResponse](t)(e.desk.CreateTicket(mgr, &sdv1.CreateTicketRequest{Ticket: inquiry(c, "Later")})).GetTicket()
	for filter, want := range map[string]string{
		`priority = URGENT`:                          tk.GetName(),
		`sla_state = ON_TRACK AND priority = NORMAL`: other.GetName(),
		`status = NEW AND customer = "` + c + `"`:    "",
	} {
		list, err := e.desk.ListTickets(mgr, &sdv1.ListTicketsRequest{Filter: filter})
		if err != nil {
			t.Fatalf("%s: %v", filter, err)
		}
		if want != "" && (len(list.GetTickets()) != 1 || list.GetTickets()[0].GetName() != want) {
			t.Errorf("%s: %v", filter, list.GetTickets())
		}
	}
	list, err := e.desk.ListTickets(mgr, &sdv1.ListTicketsRequest{OrderBy: "resolution.due_time", PageSize: 1})
	if err != nil || list.GetTickets()[0].GetName() != tk.GetName() || list.GetNextPageToken() == "" {
		t.Fatalf("ordered by due time: %v %v", list, err)
	}
	page2, err := e.desk.ListTickets(mgr, &sdv1.ListTicketsRequest{OrderBy: "resolution.due_time", PageSize: 1, PageToken: list.GetNextPageToken()})
	if err != nil || len(page2.GetTickets()) != 1 || page2.GetTickets()[0].GetName() != other.GetName() {
		t.Fatalf("page 2: %v %v", page2, err)
	}
	_, err = e.desk.ListTickets(mgr, &sdv1.ListTicketsRequest{Filter: `sla_state = SOMETIMES`})
	testkit.WantCode(t, err, codes.InvalidArgument, "", "filter")
}
