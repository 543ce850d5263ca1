package main

import (
	"context"
	"fmt"
	"time"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/types/known/durationpb"

	customerv1 "github.com/kehu-crm/kehu/pkg/api/kehu/customer/v1"
	sdv1 "github.com/kehu-crm/kehu/pkg/api/kehu/servicedesk/v1"
)

// demoDesk sets up the service desk of the demo once (when it has no
// tickets yet, see setUpDesk) and opens tickets in every state, some
// breached (the SLA worker escalates them), some answered through their
// survey.
func demoDesk(ctx context.Context, customers customerv1.CustomerServiceClient, desk sdv1.ServiceDeskServiceClient) error {
	have, err := desk.ListTickets(ctx, &sdv1.ListTicketsRequest{PageSize: 1})
	if err != nil {
		return err
	}
	if len(have.GetTickets()) > 0 {
		return nil
	}
	if err := setUpDesk(ctx, desk); err != nil {
		return err
	}
	list, err := customers.ListCustomers(ctx, &customerv1.ListCustomersRequest{Filter: `external_id = "demo-*"`, PageSize: 20})
	if err != nil {
		return err
	}
	type plan struct {
		kind     sdv1.TicketType
		channel  sdv1.Channel
		priority sdv1.Priority
		subject  string
		steps    []sdv1.Status
		reply    bool
	}
	plans := []plan{
		{sdv1.TicketType_TICKET_TYPE_INQUIRY, sdv1.Channel_CHANNEL_HOTLINE, sdv1.Priority_PRIORITY_NORMAL, "Where is my order?", nil, false},
		{sdv1.TicketType_TICKET_TYPE_AFTER_SALES, sdv1.Channel_CHANNEL_ONLINE_CHAT, sdv1.Priority_PRIORITY_HIGH, "Tea set arrived chipped", []sdv1.Status{sdv1.Status_STATUS_OPEN}, true},
		{sdv1.TicketType_TICKET_TYPE_TECHNICAL_SUPPORT, sdv1.Channel_CHANNEL_EMAIL, sdv1.Priority_PRIORITY_NORMAL, "Cannot log in to the shop",
			[]sdv1.Status{sdv1.Status_STATUS_OPEN, sdv1.Status_STATUS_PENDING_CUSTOMER}, true},
		{sdv1.TicketType_TICKET_TYPE_INQUIRY, sdv1.Channel_CHANNEL_WEB_FORM, sdv1.Priority_PRIORITY_LOW, "Invoice copy (发票)",
			[]sdv1.Status{sdv1.Status_STATUS_OPEN, sdv1.Status_STATUS_RESOLVED}, true},
		{sdv1.TicketType_TICKET_TYPE_FEEDBACK, sdv1.Channel_CHANNEL_SOCIAL_MEDIA, sdv1.Priority_PRIORITY_LOW, "Loved the Mid-Autumn gift box",
			[]sdv1.Status{sdv1.Status_STATUS_OPEN, sdv1.Status_STATUS_RESOLVED, sdv1.Status_STATUS_CLOSED}, true},
		{sdv1.TicketType_TICKET_TYPE_COMPLAINT, sdv1.Channel_CHANNEL_HOTLINE, sdv1.Priority_PRIORITY_HIGH, "Second late delivery this quarter",
			[]sdv1.Status{sdv1.Status_STATUS_OPEN, sdv1.Status_STATUS_RESOLVED}, true},
		{sdv1.TicketType_TICKET_TYPE_TECHNICAL_SUPPORT, sdv1.Channel_CHANNEL_HOTLINE, sdv1.Priority_PRIORITY_URGENT, "Payment page down", nil, false},
		{sdv1.TicketType_TICKET_TYPE_COMPLAINT, sdv1.Channel_CHANNEL_IN_PERSON, sdv1.Priority_PRIORITY_URGENT, "Rude staff at the store", []sdv1.Status{sdv1.Status_STATUS_OPEN}, false},
	}
	opened := 0
	for n, c := range list.GetCustomers() {
		p := plans[n%len(plans)]
		tk, err := desk.CreateTicket(ctx, &sdv1.CreateTicketRequest{RequestId: "demo-ticket-" + c.GetExternalId(), Ticket: &sdv1.Ticket{
			Customer: c.GetName(), Type: p.kind, Channel: p.channel, Priority: p.priority, Subject: p.subject,
			Description: "Demo ticket: " + p.subject, Tags: []string{"demo"},
		}})
		if err != nil {
			return fmt.Errorf("ticket of %s: %w", c.GetDisplayName(), err)
		}
		name := tk.GetTicket().GetName()
		if p.reply {
			if _, err := desk.CreateComment(ctx, &sdv1.CreateCommentRequest{Parent: name, Comment: &sdv1.Comment{
				Visibility: sdv1.Visibility_VISIBILITY_PUBLIC, Body: "Thank you for reaching out; we are on it."}}); err != nil {
				return err
			}
		}
		for _, s := range p.steps {
			if s == sdv1.Status_STATUS_OPEN && p.reply {
				continue // the public reply opened it
			}
			req := &sdv1.TransitionTicketRequest{Name: name, Status: s, ResolutionSummary: "Solved with the customer"}
			if p.kind == sdv1.TicketType_TICKET_TYPE_COMPLAINT {
				req.RootCause = "logistics"
			}
			if _, err := desk.TransitionTicket(ctx, req); err != nil {
				return fmt.Errorf("%s of %s: %w", s, name, err)
			}
		}
		opened++
	}
	// The at-risk restaurant complains twice more: dissatisfied.
	for _, c := range list.GetCustomers() {
		if c.GetExternalId() != "demo-006" {
			continue
		}
		for k, subject := range []string{"Wrong tea delivered again", "Refund still not received"} {
			if _, err := desk.CreateTicket(ctx, &sdv1.CreateTicketRequest{RequestId: fmt.Sprintf("demo-ticket-demo-006-%d", k+2), Ticket: &sdv1.Ticket{
				Customer: c.GetName(), Type: sdv1.TicketType_TICKET_TYPE_COMPLAINT, Channel: sdv1.Channel_CHANNEL_HOTLINE,
				Priority: sdv1.Priority_PRIORITY_HIGH, Subject: subject, Description: "Demo ticket: a repeated complaint", Tags: []string{"demo"},
			}}); err != nil {
				return fmt.Errorf("repeated complaint: %w", err)
			}
			opened++
		}
	}
	answered, err := demoSurveys(ctx, desk)
	if err != nil {
		return err
	}
	logf("demo: %d tickets opened, %d surveys answered; urgent ones breach within a minute", opened, answered)
	return nil
}

// demoSurveys answers the issued surveys, as customers would through
// their links (the tokens come from the survey.issued events).
func demoSurveys(ctx context.Context, desk sdv1.ServiceDeskServiceClient) (int, error) {
	ctx, cancel := context.WithTimeout(ctx, 3*time.Second)
	defer cancel()
	stream, err := desk.StreamEvents(ctx, &sdv1.StreamEventsRequest{})
	if err != nil {
		return 0, err
	}
	answered := 0
	for {
		ev, err := stream.Recv()
		if err != nil {
			// The stream stays open for new events: the deadline ends it.
			return answered, nil
		}
		var p sdv1.SurveyIssuedPayload
		if ev.GetEvent().GetType() != "survey.issued" || ev.GetEvent().GetPayload().UnmarshalTo(&p) != nil {
			continue
		}
		score := int32(5 - answered%4)
		if _, err := desk.AnswerSurvey(ctx, &sdv1.AnswerSurveyRequest{Token: p.GetToken(), Score: score, Comment: "Demo answer"}); err != nil {
			return answered, fmt.Errorf("answering %s: %w", p.GetSurvey().GetName(), err)
		}
		answered++
	}
}

// setUpDesk gives the service desk (again: what exists stays) a Shanghai
// office calendar with a lunch break, the National Day week and its make-up
// days; a tighter policy for tier-A customers and an urgent one that
// breaches within seconds; and queues.
func setUpDesk(ctx context.Context, desk sdv1.ServiceDeskServiceClient) error {
	office := &sdv1.BusinessCalendar{TimeZone: "Asia/Shanghai",
		Holidays:   []string{"2026-10-01", "2026-10-02", "2026-10-05", "2026-10-06", "2026-10-07", "2027-02-06", "2027-02-08", "2027-02-09"},
		MakeUpDays: []string{"2026-09-27", "2026-10-10", "2027-02-20"}}
	for d := sdv1.DayOfWeek_DAY_OF_WEEK_MONDAY; d <= sdv1.DayOfWeek_DAY_OF_WEEK_FRIDAY; d++ {
		office.WorkingHours = append(office.WorkingHours,
			&sdv1.WorkingHours{Day: d, Start: "09:00", End: "12:00"}, &sdv1.WorkingHours{Day: d, Start: "13:30", End: "18:00"})
	}
	always := &sdv1.BusinessCalendar{TimeZone: "Asia/Shanghai"}
	for d := sdv1.DayOfWeek_DAY_OF_WEEK_MONDAY; d <= sdv1.DayOfWeek_DAY_OF_WEEK_SUNDAY; d++ {
		always.WorkingHours = append(always.WorkingHours, &sdv1.WorkingHours{Day: d, Start: "00:00", End: "24:00"})
	}
	policies := map[string]*sdv1.SlaPolicy{
		"urgent": {DisplayName: "Urgent, round the clock", Priorities: []sdv1.Priority{sdv1.Priority_PRIORITY_URGENT}, Precedence: 1,
			FirstResponseTarget: durationpb.New(20 * time.Second), ResolutionTarget: durationpb.New(time.Minute), Calendar: always},
		"tier-a": {DisplayName: "Tier-A customers", ValueTiers: []sdv1.ValueTier{sdv1.ValueTier_VALUE_TIER_A}, Precedence: 5,
			FirstResponseTarget: durationpb.New(30 * time.Minute), ResolutionTarget: durationpb.New(4 * time.Hour), Calendar: office},
		"standard": {DisplayName: "Standard", Precedence: 10,
			FirstResponseTarget: durationpb.New(4 * time.Hour), ResolutionTarget: durationpb.New(24 * time.Hour), Calendar: office},
	}
	for id, p := range policies {
		if _, err := desk.CreateSlaPolicy(ctx, &sdv1.CreateSlaPolicyRequest{SlaPolicyId: id, SlaPolicy: p}); err != nil && status.Code(err) != codes.AlreadyExists {
			return fmt.Errorf("SLA policy %s: %w", id, err)
		}
	}
	member := func(users ...string) []*sdv1.QueueMember {
		var out []*sdv1.QueueMember
		for _, u := range users {
			out = append(out, &sdv1.QueueMember{User: u, Available: true})
		}
		return out
	}
	queues := map[string]*sdv1.Queue{
		"support":    {DisplayName: "Support 客服", Members: member("alice", "bob")},
		"vip":        {DisplayName: "VIP desk", Members: member("bob"), RouteValueTiers: []sdv1.ValueTier{sdv1.ValueTier_VALUE_TIER_A}, RoutingOrder: 1},
		"complaints": {DisplayName: "Complaints 投诉", Members: member("carol"), ComplaintQueue: true},
	}
	for id, q := range queues {
		if _, err := desk.CreateQueue(ctx, &sdv1.CreateQueueRequest{QueueId: id, Queue: q}); err != nil && status.Code(err) != codes.AlreadyExists {
			return fmt.Errorf("queue %s: %w", id, err)
		}
	}

	return nil
}
