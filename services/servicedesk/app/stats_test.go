package app

import (
	"testing"
	"time"

	"google.golang.org/grpc/codes"
	"google.golang.org/protobuf/types/known/durationpb"
	"google.golang.org/protobuf/types/known/timestamppb"

	customerv1 "github.com/kehu-crm/kehu/pkg/api/kehu/customer/v1"
	sdv1 "github.com/kehu-crm/kehu/pkg/api/kehu/servicedesk/v1"
	"github.com/kehu-crm/kehu/pkg/auth"
	"github.com/kehu-crm/kehu/pkg/testkit"
)

// Queue KPIs count what happened, in total and per agent, and agents see
// only the queues they work.
func TestQueueStats(t *testing.T) {
	t.Parallel()
	e := start(t)
	e.policy(t, "urgent", &sdv1.SlaPolicy{DisplayName: "Urgent", Priorities: []sdv1.Priority{sdv1.Priority_PRIORITY_URGENT}, Precedence: 1,
		FirstResponseTarget: durationpb.New(time.Millisecond), ResolutionTarget: durationpb.New(time.Millisecond)})
	e.policy(t, "normal", &sdv1.SlaPolicy{DisplayName: "Normal", Precedence: 5, FirstResponseTarget: hours(1), ResolutionTarget: hours(8)})
	e.queue(t, "support", &sdv1.Queue{DisplayName: "Support", Members: members("alice", "bob")})
	c := e.customer(t, &customerv1.Customer{DisplayName: "Busy"})
	mgr := e.manager(t)
	open := func(p sdv1.Priority) *sdv1.Ticket {
		tk := inquiry(c, "Question")
		tk.Priority = p
		return must[*sdv1.CreateTicketResponse](t)(e.desk.CreateTicket(mgr, &sdv1.CreateTicketRequest{Ticket: tk})).GetTicket()
	}
	resolve := func(tk *sdv1.Ticket) {
		for _, s := range []sdv1.Status{sdv1.Status_STATUS_OPEN, sdv1.Status_STATUS_RESOLVED} {
			if _, err := e.desk.TransitionTicket(mgr, &sdv1.TransitionTicketRequest{Name: tk.GetName(), Status: s}); err != nil {
				t.Fatal(err)
			}
		}
	}
	met, late := open(sdv1.Priority_PRIORITY_NORMAL), open(sdv1.Priority_PRIORITY_URGENT)
	waiting, fresh := open(sdv1.Priority_PRIORITY_HIGH), open(sdv1.Priority_PRIORITY_NORMAL)
	time.Sleep(5 * time.Millisecond)
	resolve(met)
	resolve(late)
	if _, err := e.desk.TransitionTicket(mgr, &sdv1.TransitionTicketRequest{Name: waiting.GetName(), Status: sdv1.Status_STATUS_OPEN}); err != nil {
		t.Fatal(err)
	}
	_ = fresh

	period := &sdv1.GetQueueStatsRequest{Queue: "queues/support", StartTime: timestamppb.New(time.Now().Add(-time.Hour)), EndTime: timestamppb.New(time.Now().Add(time.Hour))}
	st, err := e.desk.GetQueueStats(mgr, period)
	if err != nil {
		t.Fatal(err)
	}
	total := st.GetTotal()
	if total.GetOpened() != 4 || total.GetResolved() != 2 || total.GetSlaMet() != 1 || total.GetSlaBreached() != 1 || total.GetSlaCompliance() != 0.5 {
		t.Errorf("totals: %v", total)
	}
	if total.GetOpenByStatus()["OPEN"] != 1 || total.GetOpenByStatus()["NEW"] != 1 || total.GetOpenByPriority()["HIGH"] != 1 {
		t.Errorf("open now: %v %v", total.GetOpenByStatus(), total.GetOpenByPriority())
	}
	if total.GetMedianResolution().AsDuration() <= 0 {
		t.Errorf("median resolution %v", total.GetMedianResolution())
	}
	var perAgent int64
	for _, a := range st.GetAgents() {
		perAgent += a.GetStats().GetOpened()
		if a.GetAgent() != "alice" && a.GetAgent() != "bob" {
			t.Errorf("unexpected agent %q", a.GetAgent())
		}
	}
	if perAgent != 4 || len(st.GetAgents()) != 2 {
		t.Errorf("per agent: %v", st.GetAgents())
	}

	dave := e.as(t, "dave", auth.RoleAgent)
	_, err = e.desk.GetQueueStats(dave, period)
	testkit.WantCode(t, err, codes.NotFound, "", "")
	all, err := e.desk.GetQueueStats(dave, &sdv1.GetQueueStatsRequest{Queue: "queues/-"})
	if err != nil || all.GetTotal().GetOpened() != 0 {
		t.Errorf("dave's queues: %v %v", all, err)
	}
	alice, err := e.desk.GetQueueStats(e.as(t, "alice", auth.RoleAgent), &sdv1.GetQueueStatsRequest{Queue: "queues/-"})
	if err != nil || alice.GetTotal().GetOpened() != 4 {
		t.Errorf("alice's queues: %v %v", alice, err)
	}
	_, err = e.desk.GetQueueStats(mgr, &sdv1.GetQueueStatsRequest{Queue: "queues/support", StartTime: timestamppb.Now(), EndTime: timestamppb.New(time.Now().Add(-time.Hour))})
	testkit.WantCode(t, err, codes.InvalidArgument, "", "start_time")
}
