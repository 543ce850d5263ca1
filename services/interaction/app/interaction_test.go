package app

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/types/known/fieldmaskpb"
	"google.golang.org/protobuf/types/known/timestamppb"

	customerv1 "github.com/kehu-crm/kehu/pkg/api/kehu/customer/v1"
	ipb "github.com/kehu-crm/kehu/pkg/api/kehu/interaction/v1"
	"github.com/kehu-crm/kehu/pkg/auth"
	"github.com/kehu-crm/kehu/pkg/customerref"
	customerrpc "github.com/kehu-crm/kehu/pkg/customerref/rpc"
	"github.com/kehu-crm/kehu/pkg/testkit"
)

func call(kind ipb.InteractionKind, summary string) *ipb.Interaction {
	return &ipb.Interaction{Channel: ipb.Channel_CHANNEL_PHONE, Direction: ipb.Direction_DIRECTION_INBOUND, Kind: kind, Subject: "Call", Summary: summary}
}

func purchase(amount, currency string) *ipb.Interaction {
	return &ipb.Interaction{
		Channel: ipb.Channel_CHANNEL_WEBSITE, Kind: ipb.InteractionKind_INTERACTION_KIND_PURCHASE,
		Amount: &ipb.Money{CurrencyCode: currency, Amount: amount}, OrderReference: "SO-1001",
		ProductCategories: []string{"tea", "gifts"}, Touchpoint: "touchpoints/online-store",
	}
}

func (e *env) countInteractions(t *testing.T, parent string) int {
	t.Helper()
	resp, err := e.interactions.ListInteractions(e.manager(t), &ipb.ListInteractionsRequest{Parent: parent, PageSize: 1000, ShowDeleted: true})
	if err != nil {
		t.Fatal(err)
	}
	return len(resp.GetInteractions())
}

func TestRecordInteractionsWithStageSnapshot(t *testing.T) {
	t.Parallel()
	e := start(t)
	c := e.customer(t, &customerv1.Customer{DisplayName: "Li Na", LifecycleStage: customerv1.LifecycleStage_LIFECYCLE_STAGE_REPEAT})
	ctx := e.as(t, "alice", auth.RoleAgent)

	req := &ipb.CreateInteractionRequest{Parent: c.GetName(), Interaction: call(ipb.InteractionKind_INTERACTION_KIND_CONTACT, "Asked about delivery"), RequestId: "call-1"}
	first, err := e.interactions.CreateInteraction(ctx, req)
	if err != nil {
		t.Fatal(err)
	}
	got := first.GetInteraction()
	if got.GetLifecycleStage() != customerv1.LifecycleStage_LIFECYCLE_STAGE_REPEAT || got.GetAgent() != "alice" ||
		!strings.HasPrefix(got.GetName(), c.GetName()+"/interactions/") || got.GetOccurTime() == nil {
		t.Fatalf("created %v", got)
	}
	// The same request id returns the same record, once.
	again, err := e.interactions.CreateInteraction(ctx, req)
	if err != nil || again.GetInteraction().GetName() != got.GetName() {
		t.Fatalf("retry: %v %v", again, err)
	}
	// The same request id with another body is refused.
	req.Interaction.Summary = "Something else"
	_, err = e.interactions.CreateInteraction(ctx, req)
	testkit.WantCode(t, err, codes.InvalidArgument, "", "request_id")

	// Later stage changes do not rewrite history.
	if _, err := e.customers.TransitionLifecycleStage(e.manager(t), &customerv1.TransitionLifecycleStageRequest{
		Name: c.GetName(), Stage: customerv1.LifecycleStage_LIFECYCLE_STAGE_LOYAL, Reason: "5th order",
	}); err != nil {
		t.Fatal(err)
	}
	p, err := e.interactions.CreateInteraction(ctx, &ipb.CreateInteractionRequest{Parent: c.GetName(), Interaction: purchase("1299.90", "cny")})
	if err != nil {
		t.Fatal(err)
	}
	if p.GetInteraction().GetLifecycleStage() != customerv1.LifecycleStage_LIFECYCLE_STAGE_LOYAL ||
		p.GetInteraction().GetAmount().GetAmount() != "1299.9" || p.GetInteraction().GetAmount().GetCurrencyCode() != "CNY" {
		t.Fatalf("purchase %v", p.GetInteraction())
	}
	old, err := e.interactions.GetInteraction(ctx, &ipb.GetInteractionRequest{Name: got.GetName()})
	if err != nil || old.GetInteraction().GetLifecycleStage() != customerv1.LifecycleStage_LIFECYCLE_STAGE_REPEAT {
		t.Fatalf("snapshot changed: %v %v", old, err)
	}
	if n := e.countInteractions(t, c.GetName()); n != 2 {
		t.Fatalf("%d interactions, want 2", n)
	}
}

func TestBadInteractionsWriteNothing(t *testing.T) {
	t.Parallel()
	e := start(t)
	c := e.customer(t, &customerv1.Customer{DisplayName: "Wang Wei"})
	ctx := e.manager(t)
	noAmount := purchase("", "CNY")
	noAmount.Amount = nil
	contactWithAmount := call(ipb.InteractionKind_INTERACTION_KIND_CONTACT, "")
	contactWithAmount.Amount = &ipb.Money{CurrencyCode: "CNY", Amount: "10"}
	future := call(ipb.InteractionKind_INTERACTION_KIND_CONTACT, "")
	future.OccurTime = timestamppb.New(time.Now().Add(72 * time.Hour))
	cases := []struct {
		name   string
		parent string
		i      *ipb.Interaction
		code   codes.Code
		field  string
	}{
		{"purchase without amount", c.GetName(), noAmount, codes.InvalidArgument, "interaction.amount"},
		{"negative amount", c.GetName(), purchase("-5", "CNY"), codes.InvalidArgument, "interaction.amount.amount"},
		{"zero amount", c.GetName(), purchase("0.00", "CNY"), codes.InvalidArgument, "interaction.amount.amount"},
		{"float-ish amount", c.GetName(), purchase("1e3", "CNY"), codes.InvalidArgument, "interaction.amount.amount"},
		{"too many decimals", c.GetName(), purchase("1.23456", "CNY"), codes.InvalidArgument, "interaction.amount.amount"},
		{"unknown currency", c.GetName(), purchase("10", "XYZ"), codes.InvalidArgument, "interaction.amount.currency_code"},
		{"amount on a contact", c.GetName(), contactWithAmount, codes.InvalidArgument, "interaction.amount"},
		{"no channel", c.GetName(), &ipb.Interaction{Kind: ipb.InteractionKind_INTERACTION_KIND_NOTE}, codes.InvalidArgument, "interaction.channel"},
		{"unknown enum", c.GetName(), &ipb.Interaction{Channel: 99}, codes.InvalidArgument, "interaction.channel"},
		{"satisfaction 6", c.GetName(), &ipb.Interaction{Channel: ipb.Channel_CHANNEL_EMAIL, Satisfaction: 6}, codes.InvalidArgument, "interaction.satisfaction"},
		{"in the future", c.GetName(), future, codes.InvalidArgument, "interaction.occur_time"},
		{"unknown touchpoint", c.GetName(), &ipb.Interaction{Channel: ipb.Channel_CHANNEL_EMAIL, Touchpoint: "touchpoints/moon-base"}, codes.InvalidArgument, "interaction.touchpoint"},
		{"bad parent", "customers/42", call(ipb.InteractionKind_INTERACTION_KIND_CONTACT, ""), codes.InvalidArgument, "parent"},
		{"unknown customer", "customers/01a203ab-cb67-7a27-bac7-2d35cd3497e2", call(ipb.InteractionKind_INTERACTION_KIND_CONTACT, ""), codes.NotFound, "parent"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			_, err := e.interactions.CreateInteraction(ctx, &ipb.CreateInteractionRequest{Parent: tc.parent, Interaction: tc.i})
			testkit.WantCode(t, err, tc.code, "", tc.field)
		})
	}
	// A batch is all or nothing: one bad entry rejects every one.
	_, err := e.interactions.BatchCreateInteractions(ctx, &ipb.BatchCreateInteractionsRequest{Parent: c.GetName(), Requests: []*ipb.CreateInteractionRequest{
		{Interaction: purchase("10", "CNY")}, {Interaction: purchase("-1", "CNY")},
	}})
	testkit.WantCode(t, err, codes.InvalidArgument, "", "requests[1].interaction.amount.amount")
	if n := e.countInteractions(t, "customers/-"); n != 0 {
		t.Fatalf("%d interactions written by rejected requests", n)
	}
	batch, err := e.interactions.BatchCreateInteractions(ctx, &ipb.BatchCreateInteractionsRequest{Parent: c.GetName(), Requests: []*ipb.CreateInteractionRequest{
		{Interaction: purchase("10", "CNY")}, {Interaction: purchase("20.5", "USD")}, {Interaction: call(ipb.InteractionKind_INTERACTION_KIND_FEEDBACK, "Happy")},
	}})
	if err != nil || len(batch.GetInteractions()) != 3 {
		t.Fatalf("batch: %v %v", batch, err)
	}
}

func TestTimelineFiltersAndPaging(t *testing.T) {
	t.Parallel()
	e := start(t)
	a := e.customer(t, &customerv1.Customer{DisplayName: "A"})
	b := e.customer(t, &customerv1.Customer{DisplayName: "B"})
	ctx := e.manager(t)
	base := time.Now().Add(-48 * time.Hour).Truncate(time.Second)
	for n := range 12 {
		i := call(ipb.InteractionKind_INTERACTION_KIND_CONTACT, "")
		if n%3 == 0 {
			i = purchase([]string{"50", "150", "1500", "15000"}[n/3], "CNY")
		}
		i.OccurTime = timestamppb.New(base.Add(time.Duration(n) * time.Hour))
		parent := a.GetName()
		if n%2 == 1 {
			parent = b.GetName()
		}
		if _, err := e.interactions.CreateInteraction(ctx, &ipb.CreateInteractionRequest{Parent: parent, Interaction: i}); err != nil {
			t.Fatal(err)
		}
	}
	// One customer's timeline, newest first, in pages.
	var seen []*ipb.Interaction
	token := ""
	for {
		resp, err := e.interactions.ListInteractions(ctx, &ipb.ListInteractionsRequest{Parent: a.GetName(), PageSize: 4, PageToken: token})
		if err != nil {
			t.Fatal(err)
		}
		seen = append(seen, resp.GetInteractions()...)
		if token = resp.GetNextPageToken(); token == "" {
			break
		}
	}
	if len(seen) != 6 {
		t.Fatalf("timeline has %d, want 6", len(seen))
	}
	for n := 1; n < len(seen); n++ {
		if !seen[n].GetOccurTime().AsTime().Before(seen[n-1].GetOccurTime().AsTime()) {
			t.Fatalf("timeline not newest first at %d", n)
		}
	}
	for filter, want := range map[string]int{
		`kind = PURCHASE`:                                                      4,
		`kind = PURCHASE AND amount > 100`:                                     3,
		`amount >= 1500 AND currency_code = "CNY"`:                             2,
		`channel = CHANNEL_PHONE`:                                              8,
		`occur_time >= "` + base.Add(6*time.Hour).Format(time.RFC3339) + `"`:   6,
		`customer = "` + b.GetName() + `"`:                                     6,
		`product_categories:"tea" AND touchpoint = "touchpoints/online-store"`: 4,
	} {
		resp, err := e.interactions.ListInteractions(ctx, &ipb.ListInteractionsRequest{Parent: "customers/-", Filter: filter, PageSize: 100})
		if err != nil || len(resp.GetInteractions()) != want {
			t.Errorf("filter %q: %d results, %v; want %d", filter, len(resp.GetInteractions()), err, want)
		}
	}
	_, err := e.interactions.ListInteractions(ctx, &ipb.ListInteractionsRequest{Parent: "customers/-", Filter: `mood = "happy"`})
	testkit.WantCode(t, err, codes.InvalidArgument, "", "filter")
	_, err = e.interactions.ListInteractions(ctx, &ipb.ListInteractionsRequest{Parent: "customers/-", Filter: `amount > lots`})
	testkit.WantCode(t, err, codes.InvalidArgument, "", "filter")
	first, _ := e.interactions.ListInteractions(ctx, &ipb.ListInteractionsRequest{Parent: a.GetName(), PageSize: 2})
	_, err = e.interactions.ListInteractions(ctx, &ipb.ListInteractionsRequest{Parent: b.GetName(), PageSize: 2, PageToken: first.GetNextPageToken()})
	testkit.WantCode(t, err, codes.InvalidArgument, "", "page_token")
	_, err = e.interactions.ListInteractions(ctx, &ipb.ListInteractionsRequest{Parent: a.GetName(), PageSize: -1})
	testkit.WantCode(t, err, codes.InvalidArgument, "", "page_size")
}

func TestUpdateDeleteUndelete(t *testing.T) {
	t.Parallel()
	e := start(t)
	c := e.customer(t, &customerv1.Customer{DisplayName: "Zhao Min"})
	ctx := e.manager(t)
	resp, err := e.interactions.CreateInteraction(ctx, &ipb.CreateInteractionRequest{Parent: c.GetName(), Interaction: call(ipb.InteractionKind_INTERACTION_KIND_CONTACT, "first")})
	if err != nil {
		t.Fatal(err)
	}
	i := resp.GetInteraction()
	upd := &ipb.Interaction{Name: i.GetName(), Etag: i.GetEtag(), Satisfaction: 4, Sentiment: ipb.Sentiment_SENTIMENT_POSITIVE}
	got, err := e.interactions.UpdateInteraction(ctx, &ipb.UpdateInteractionRequest{Interaction: upd, UpdateMask: &fieldmaskpb.FieldMask{Paths: []string{"satisfaction", "sentiment"}}})
	if err != nil || got.GetInteraction().GetSatisfaction() != 4 || got.GetInteraction().GetSummary() != "first" {
		t.Fatalf("update: %v %v", got, err)
	}
	_, err = e.interactions.UpdateInteraction(ctx, &ipb.UpdateInteractionRequest{Interaction: upd, UpdateMask: &fieldmaskpb.FieldMask{Paths: []string{"satisfaction"}}})
	testkit.WantCode(t, err, codes.Aborted, "", "")
	for _, path := range []string{"lifecycle_stage", "mood"} {
		_, err = e.interactions.UpdateInteraction(ctx, &ipb.UpdateInteractionRequest{Interaction: &ipb.Interaction{Name: i.GetName()}, UpdateMask: &fieldmaskpb.FieldMask{Paths: []string{path}}})
		testkit.WantCode(t, err, codes.InvalidArgument, "", "update_mask")
	}
	if _, err := e.interactions.DeleteInteraction(ctx, &ipb.DeleteInteractionRequest{Name: i.GetName()}); err != nil {
		t.Fatal(err)
	}
	if n := len(must(e.interactions.ListInteractions(ctx, &ipb.ListInteractionsRequest{Parent: c.GetName()})).GetInteractions()); n != 0 {
		t.Fatalf("deleted interaction listed")
	}
	if _, err := e.interactions.UndeleteInteraction(ctx, &ipb.UndeleteInteractionRequest{Name: i.GetName()}); err != nil {
		t.Fatal(err)
	}
	if n := len(must(e.interactions.ListInteractions(ctx, &ipb.ListInteractionsRequest{Parent: c.GetName()})).GetInteractions()); n != 1 {
		t.Fatalf("undeleted interaction not listed")
	}
}

func must[T any](v T, err error) T {
	if err != nil {
		panic(err)
	}
	return v
}

func TestAccessRules(t *testing.T) {
	t.Parallel()
	e := start(t)
	bobs := e.customer(t, &customerv1.Customer{DisplayName: "Bob's", AccountManager: "bob"})
	alice, bob := e.as(t, "alice", auth.RoleAgent), e.as(t, "bob", auth.RoleAgent)
	// Alice cannot record for Bob's customer: it looks absent.
	_, err := e.interactions.CreateInteraction(alice, &ipb.CreateInteractionRequest{Parent: bobs.GetName(), Interaction: call(ipb.InteractionKind_INTERACTION_KIND_CONTACT, "")})
	testkit.WantCode(t, err, codes.NotFound, "", "parent")
	resp, err := e.interactions.CreateInteraction(bob, &ipb.CreateInteractionRequest{Parent: bobs.GetName(), Interaction: call(ipb.InteractionKind_INTERACTION_KIND_CONTACT, "Private notes")})
	if err != nil {
		t.Fatal(err)
	}
	name := resp.GetInteraction().GetName()
	// Once the projection knows Bob manages the customer, Alice cannot read it.
	testkit.Eventually(t, "customer projection", func() bool {
		_, err := e.interactions.GetInteraction(alice, &ipb.GetInteractionRequest{Name: name})
		return status.Code(err) == codes.NotFound
	})
	list, err := e.interactions.ListInteractions(alice, &ipb.ListInteractionsRequest{Parent: "customers/-"})
	if err != nil || len(list.GetInteractions()) != 0 {
		t.Fatalf("alice lists bob's interactions: %v %v", list, err)
	}
	// Viewers read, without message bodies; they cannot write.
	viewer := e.as(t, "vic", auth.RoleViewer)
	v, err := e.interactions.GetInteraction(viewer, &ipb.GetInteractionRequest{Name: name})
	if err != nil || v.GetInteraction().GetSummary() != "" || v.GetInteraction().GetSubject() != "Call" {
		t.Fatalf("viewer: %v %v", v, err)
	}
	_, err = e.interactions.CreateInteraction(viewer, &ipb.CreateInteractionRequest{Parent: bobs.GetName(), Interaction: call(ipb.InteractionKind_INTERACTION_KIND_NOTE, "")})
	testkit.WantCode(t, err, codes.PermissionDenied, "", "")
	_, err = e.interactions.CreateCareRule(bob, &ipb.CreateCareRuleRequest{CareRule: &ipb.CareRule{DisplayName: "x"}})
	testkit.WantCode(t, err, codes.PermissionDenied, "", "")
	_, err = e.interactions.ListInteractions(context.Background(), &ipb.ListInteractionsRequest{Parent: "customers/-"})
	testkit.WantCode(t, err, codes.Unauthenticated, "", "")
}

func TestFollowUpsAgendaAndRecurrence(t *testing.T) {
	t.Parallel()
	e := start(t)
	c := e.customer(t, &customerv1.Customer{DisplayName: "Chen Jing"})
	ctx := e.as(t, "alice", auth.RoleAgent)
	now := time.Now()

	bad := []struct {
		name  string
		f     *ipb.FollowUp
		field string
	}{
		{"due in the past", &ipb.FollowUp{Purpose: "x", Channel: ipb.Channel_CHANNEL_PHONE, DueTime: timestamppb.New(now.Add(-time.Hour))}, "follow_up.due_time"},
		{"no due time", &ipb.FollowUp{Purpose: "x", Channel: ipb.Channel_CHANNEL_PHONE}, "follow_up.due_time"},
		{"recurrence of zero", &ipb.FollowUp{Purpose: "x", Channel: ipb.Channel_CHANNEL_PHONE, DueTime: timestamppb.New(now.Add(time.Hour)), Recurrence: &ipb.Recurrence{Interval: 0, Unit: ipb.Recurrence_UNIT_WEEK}}, "follow_up.recurrence.interval"},
		{"no purpose", &ipb.FollowUp{Channel: ipb.Channel_CHANNEL_PHONE, DueTime: timestamppb.New(now.Add(time.Hour))}, "follow_up.purpose"},
	}
	for _, tc := range bad {
		t.Run(tc.name, func(t *testing.T) {
			_, err := e.interactions.CreateFollowUp(ctx, &ipb.CreateFollowUpRequest{Parent: c.GetName(), FollowUp: tc.f})
			testkit.WantCode(t, err, codes.InvalidArgument, "", tc.field)
		})
	}

	monthly, err := e.interactions.CreateFollowUp(ctx, &ipb.CreateFollowUpRequest{Parent: c.GetName(), FollowUp: &ipb.FollowUp{
		Purpose: "Monthly check-in", Channel: ipb.Channel_CHANNEL_PHONE, DueTime: timestamppb.New(now.Add(2 * time.Hour)),
		Recurrence: &ipb.Recurrence{Interval: 1, Unit: ipb.Recurrence_UNIT_MONTH},
	}})
	if err != nil {
		t.Fatal(err)
	}
	soon, err := e.interactions.CreateFollowUp(ctx, &ipb.CreateFollowUpRequest{Parent: c.GetName(), FollowUp: &ipb.FollowUp{
		Purpose: "Send quote", Channel: ipb.Channel_CHANNEL_EMAIL, DueTime: timestamppb.New(now.Add(time.Hour)),
	}})
	if err != nil {
		t.Fatal(err)
	}
	if monthly.GetFollowUp().GetAssignee() != "alice" || monthly.GetFollowUp().GetState() != ipb.FollowUp_STATE_PLANNED {
		t.Fatalf("follow-up %v", monthly.GetFollowUp())
	}
	// Alice's agenda: earliest first.
	agenda, err := e.interactions.ListFollowUps(ctx, &ipb.ListFollowUpsRequest{Parent: "customers/-",
		Filter: `assignee = "alice" AND state = PLANNED AND due_time < "` + now.Add(24*time.Hour).UTC().Format(time.RFC3339) + `"`})
	if err != nil || len(agenda.GetFollowUps()) != 2 || agenda.GetFollowUps()[0].GetName() != soon.GetFollowUp().GetName() {
		t.Fatalf("agenda: %v %v", agenda, err)
	}

	// Completing the recurring one records the visit and plans the next.
	done, err := e.interactions.CompleteFollowUp(ctx, &ipb.CompleteFollowUpRequest{
		Name: monthly.GetFollowUp().GetName(), RequestId: "done-1",
		Fulfillment: &ipb.CompleteFollowUpRequest_NewInteraction{NewInteraction: &ipb.Interaction{Summary: "All good", Satisfaction: 5}},
	})
	if err != nil {
		t.Fatal(err)
	}
	if done.GetFollowUp().GetState() != ipb.FollowUp_STATE_COMPLETED ||
		done.GetInteraction().GetKind() != ipb.InteractionKind_INTERACTION_KIND_FOLLOW_UP_VISIT ||
		done.GetInteraction().GetFollowUp() != monthly.GetFollowUp().GetName() ||
		done.GetFollowUp().GetInteraction() != done.GetInteraction().GetName() {
		t.Fatalf("complete: %v", done)
	}
	next := done.GetNextFollowUp()
	wantDue := monthly.GetFollowUp().GetDueTime().AsTime().AddDate(0, 1, 0)
	if next == nil || !next.GetDueTime().AsTime().Equal(wantDue) || next.GetPrevious() != monthly.GetFollowUp().GetName() {
		t.Fatalf("next follow-up %v, want due %v", next, wantDue)
	}
	// Completing again is refused; the retry with the same request id is not.
	_, err = e.interactions.CompleteFollowUp(ctx, &ipb.CompleteFollowUpRequest{
		Name: monthly.GetFollowUp().GetName(), Fulfillment: &ipb.CompleteFollowUpRequest_Interaction{Interaction: done.GetInteraction().GetName()},
	})
	testkit.WantCode(t, err, codes.FailedPrecondition, "", "")
	if _, err := e.interactions.CompleteFollowUp(ctx, &ipb.CompleteFollowUpRequest{
		Name: monthly.GetFollowUp().GetName(), RequestId: "done-1",
		Fulfillment: &ipb.CompleteFollowUpRequest_NewInteraction{NewInteraction: &ipb.Interaction{Summary: "All good", Satisfaction: 5}},
	}); err != nil {
		t.Fatalf("retry of completion: %v", err)
	}
	if n := e.countInteractions(t, c.GetName()); n != 1 {
		t.Fatalf("%d interactions after a retried completion, want 1", n)
	}
	// Cancel the other.
	cancelled, err := e.interactions.CancelFollowUp(ctx, &ipb.CancelFollowUpRequest{Name: soon.GetFollowUp().GetName(), Reason: "customer asked to wait"})
	if err != nil || cancelled.GetFollowUp().GetState() != ipb.FollowUp_STATE_CANCELLED {
		t.Fatalf("cancel: %v %v", cancelled, err)
	}
}

func TestWorkerMarksMissedAndReschedules(t *testing.T) {
	t.Parallel()
	e := start(t)
	c := e.customer(t, &customerv1.Customer{DisplayName: "Liu Yang"})
	ctx := e.manager(t)
	now := time.Now()
	weekly, err := e.interactions.CreateFollowUp(ctx, &ipb.CreateFollowUpRequest{Parent: c.GetName(), FollowUp: &ipb.FollowUp{
		Purpose: "Weekly call", Channel: ipb.Channel_CHANNEL_PHONE, DueTime: timestamppb.New(now.Add(time.Hour)),
		Recurrence: &ipb.Recurrence{Interval: 1, Unit: ipb.Recurrence_UNIT_WEEK},
	}})
	if err != nil {
		t.Fatal(err)
	}
	// Not missed within the grace period.
	rep, err := e.app.RunWorkerOnce(context.Background(), now.Add(2*time.Hour))
	if err != nil || rep.Missed != 0 {
		t.Fatalf("within grace: %+v %v", rep, err)
	}
	// Two days later it is missed, and the next week's call is planned.
	later := now.Add(48 * time.Hour)
	rep, err = e.app.RunWorkerOnce(context.Background(), later)
	if err != nil || rep.Missed != 1 || rep.Rescheduled != 1 {
		t.Fatalf("after grace: %+v %v", rep, err)
	}
	got := must(e.interactions.GetFollowUp(ctx, &ipb.GetFollowUpRequest{Name: weekly.GetFollowUp().GetName()})).GetFollowUp()
	if got.GetState() != ipb.FollowUp_STATE_MISSED {
		t.Fatalf("state %v", got.GetState())
	}
	planned := must(e.interactions.ListFollowUps(ctx, &ipb.ListFollowUpsRequest{Parent: c.GetName(), Filter: "state = PLANNED"})).GetFollowUps()
	if len(planned) != 1 || !planned[0].GetDueTime().AsTime().After(later) || planned[0].GetPrevious() != got.GetName() {
		t.Fatalf("rescheduled: %v", planned)
	}
	// A second pass changes nothing.
	if rep, err := e.app.RunWorkerOnce(context.Background(), later); err != nil || rep.Missed != 0 {
		t.Fatalf("second pass: %+v %v", rep, err)
	}
}

func TestCareRulesExactlyOnceAcrossReplicas(t *testing.T) {
	t.Parallel()
	e := start(t)
	ctx := e.manager(t)
	loc, _ := time.LoadLocation("Asia/Shanghai")
	now := time.Now().In(loc)
	in3 := now.AddDate(0, 0, 3)
	// Five A-tier customers with a birthday in three days, one B-tier, one
	// with a birthday next month.
	var names []string
	for n := range 5 {
		c := e.customer(t, &customerv1.Customer{DisplayName: "VIP " + string(rune('A'+n)), ValueTier: customerv1.ValueTier_VALUE_TIER_A,
			Birthday: "1990-" + in3.Format("01-02"), AccountManager: "alice"})
		names = append(names, c.GetName())
	}
	e.customer(t, &customerv1.Customer{DisplayName: "B tier", ValueTier: customerv1.ValueTier_VALUE_TIER_B, Birthday: "--" + in3.Format("01-02")})
	e.customer(t, &customerv1.Customer{DisplayName: "Later", ValueTier: customerv1.ValueTier_VALUE_TIER_A, Birthday: "--" + now.AddDate(0, 1, 5).Format("01-02")})

	bad := []*ipb.CareRule{
		{DisplayName: "Impossible", Occasion: ipb.CareRule_OCCASION_FIXED_DATE, Dates: []string{"02-30"}, Channel: ipb.Channel_CHANNEL_SMS},
		{DisplayName: "Not a leap year", Occasion: ipb.CareRule_OCCASION_FIXED_DATE, Dates: []string{"2027-02-29"}, Channel: ipb.Channel_CHANNEL_SMS},
		{DisplayName: "Bad filter", Occasion: ipb.CareRule_OCCASION_BIRTHDAY, Channel: ipb.Channel_CHANNEL_SMS, CustomerFilter: `shoe_size = 42`},
		{DisplayName: "Too early", Occasion: ipb.CareRule_OCCASION_BIRTHDAY, Channel: ipb.Channel_CHANNEL_SMS, LeadDays: 400},
	}
	fields := []string{"care_rule.dates[0]", "care_rule.dates[0]", "care_rule.customer_filter", "care_rule.lead_days"}
	for n, r := range bad {
		_, err := e.interactions.CreateCareRule(ctx, &ipb.CreateCareRuleRequest{CareRule: r})
		testkit.WantCode(t, err, codes.InvalidArgument, "", fields[n])
	}
	rule, err := e.interactions.CreateCareRule(ctx, &ipb.CreateCareRuleRequest{CareRuleId: "vip-birthday", CareRule: &ipb.CareRule{
		DisplayName: "VIP birthday call", Occasion: ipb.CareRule_OCCASION_BIRTHDAY, LeadDays: 7, Channel: ipb.Channel_CHANNEL_PHONE,
		MessageTemplate: "Happy birthday, {{display_name}}!", CustomerFilter: "value_tier = A", FallbackAssignee: "mia", Active: true,
	}})
	if err != nil {
		t.Fatal(err)
	}

	// The worker needs the customers from the event stream.
	testkit.Eventually(t, "customers projected", func() bool {
		var n int
		_ = e.app.Pool.QueryRow(context.Background(), `SELECT count(*) FROM customers WHERE birthday <> ''`).Scan(&n)
		return n == 7
	})
	// The projection keeps the month and day alone, never the year.
	var withYear int
	if err := e.app.Pool.QueryRow(context.Background(), `SELECT count(*) FROM customers WHERE birthday NOT LIKE '--%' AND birthday <> ''`).Scan(&withYear); err != nil || withYear != 0 {
		t.Errorf("%d projected birthdays keep their year (%v)", withYear, err)
	}
	// Two replicas run the generator at the same moment, twice each.
	other := e.second(t)
	var wg sync.WaitGroup
	reports := make(chan int, 4)
	errs := make(chan error, 4)
	for _, a := range []*App{e.app, other, e.app, other} {
		wg.Add(1)
		go func() {
			defer wg.Done()
			rep, err := a.RunWorkerOnce(context.Background(), time.Now())
			reports <- rep.CareFollowUp
			errs <- err
		}()
	}
	wg.Wait()
	close(reports)
	close(errs)
	total := 0
	for n := range reports {
		total += n
	}
	for err := range errs {
		if err != nil {
			t.Fatal(err)
		}
	}
	if total != 5 {
		t.Fatalf("generated %d care follow-ups in total, want exactly 5", total)
	}
	care := must(e.interactions.ListFollowUps(ctx, &ipb.ListFollowUpsRequest{Parent: "customers/-", Filter: `care_rule = "` + rule.GetCareRule().GetName() + `"`})).GetFollowUps()
	if len(care) != 5 {
		t.Fatalf("%d care follow-ups listed, want 5", len(care))
	}
	for _, f := range care {
		if f.GetAssignee() != "alice" || !strings.HasPrefix(f.GetMessage(), "Happy birthday, VIP ") || f.GetChannel() != ipb.Channel_CHANNEL_PHONE {
			t.Errorf("care follow-up %v", f)
		}
	}
	// Fixed dates and anniversaries use the same machinery.
	if _, err := e.interactions.CreateCareRule(ctx, &ipb.CreateCareRuleRequest{CareRule: &ipb.CareRule{
		DisplayName: "Holiday greeting", Occasion: ipb.CareRule_OCCASION_FIXED_DATE, Dates: []string{in3.Format("01-02"), "2027-02-06"},
		LeadDays: 5, Channel: ipb.Channel_CHANNEL_SMS, FallbackAssignee: "mia", Active: true,
	}}); err != nil {
		t.Fatal(err)
	}
	rep, err := e.app.RunWorkerOnce(context.Background(), time.Now())
	if err != nil || rep.CareFollowUp != 7 {
		t.Fatalf("holiday rule: %+v %v (want 7, one per live customer)", rep, err)
	}
}

func TestMergeAndPurgeReactions(t *testing.T) {
	t.Parallel()
	e := start(t)
	ctx := e.manager(t)
	survivor := e.customer(t, &customerv1.Customer{DisplayName: "Huang Lei", Emails: []string{"huang@example.cn"}})
	dup := e.customer(t, &customerv1.Customer{DisplayName: "Huang L.", Emails: []string{"lei@example.cn"}})
	for _, c := range []*customerv1.Customer{survivor, dup, dup} {
		if _, err := e.interactions.CreateInteraction(ctx, &ipb.CreateInteractionRequest{Parent: c.GetName(), Interaction: call(ipb.InteractionKind_INTERACTION_KIND_CONTACT, "hi")}); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := e.interactions.CreateFollowUp(ctx, &ipb.CreateFollowUpRequest{Parent: dup.GetName(), FollowUp: &ipb.FollowUp{
		Purpose: "Visit", Channel: ipb.Channel_CHANNEL_MEETING, DueTime: timestamppb.New(time.Now().Add(time.Hour)),
	}}); err != nil {
		t.Fatal(err)
	}
	if _, err := e.customers.MergeCustomers(ctx, &customerv1.MergeCustomersRequest{Survivor: survivor.GetName(), Merged: []string{dup.GetName()}}); err != nil {
		t.Fatal(err)
	}
	testkit.Eventually(t, "records moved to the survivor", func() bool {
		return e.countInteractions(t, survivor.GetName()) == 3 && e.countInteractions(t, dup.GetName()) == 0
	})
	fus := must(e.interactions.ListFollowUps(ctx, &ipb.ListFollowUpsRequest{Parent: survivor.GetName()})).GetFollowUps()
	if len(fus) != 1 {
		t.Fatalf("follow-ups of survivor: %v", fus)
	}
	// The merged customer's old name still works, and records land on the
	// survivor.
	late, err := e.interactions.CreateInteraction(ctx, &ipb.CreateInteractionRequest{Parent: dup.GetName(), Interaction: call(ipb.InteractionKind_INTERACTION_KIND_CONTACT, "late")})
	if err != nil || !strings.HasPrefix(late.GetInteraction().GetName(), survivor.GetName()+"/") {
		t.Fatalf("interaction for a merged customer: %v %v", late, err)
	}

	// Purging the survivor erases everything about it here too.
	admin := e.as(t, "root", auth.RoleAdmin)
	if _, err := e.customers.PurgeCustomer(admin, &customerv1.PurgeCustomerRequest{Name: survivor.GetName()}); err != nil {
		t.Fatal(err)
	}
	testkit.Eventually(t, "records erased", func() bool { return e.countInteractions(t, "customers/-") == 0 })
	var payloads int
	if err := e.app.Pool.QueryRow(context.Background(),
		`SELECT count(*) FROM outbox WHERE subject LIKE $1 AND payload IS NOT NULL`, survivor.GetName()+"/%").Scan(&payloads); err != nil {
		t.Fatal(err)
	}
	if payloads != 0 {
		t.Fatalf("%d event payloads about the purged customer remain", payloads)
	}
	// Redelivered events change nothing: replay the whole customer stream
	// from the start, cursor reset, and the outcome is the same.
	if _, err := e.app.Pool.Exec(context.Background(), `UPDATE consumer_cursors SET sequence = 0`); err != nil {
		t.Fatal(err)
	}
	streamCtx, cancel := context.WithTimeout(e.as(t, "interaction", auth.RoleService), 2*time.Second)
	defer cancel()
	stream, err := e.customers.StreamEvents(streamCtx, &customerv1.StreamEventsRequest{})
	if err != nil {
		t.Fatal(err)
	}
	replayed := 0
	for {
		resp, err := stream.Recv()
		if err != nil {
			break // the deadline ends the replay once the stream is idle
		}
		ev, err := customerrpc.Decode(resp.GetEvent())
		if err != nil {
			t.Fatal(err)
		}
		if err := e.app.svc.ApplyCustomerEvents(context.Background(), []customerref.Event{ev}); err != nil {
			t.Fatal(err)
		}
		replayed++
	}
	if replayed < 5 {
		t.Fatalf("replayed only %d events", replayed)
	}
	if n := e.countInteractions(t, "customers/-"); n != 0 {
		t.Fatalf("replay resurrected %d interactions", n)
	}
	var projected int
	if err := e.app.Pool.QueryRow(context.Background(), `SELECT count(*) FROM customers WHERE id = $1`,
		strings.TrimPrefix(survivor.GetName(), "customers/")).Scan(&projected); err != nil || projected != 0 {
		t.Fatalf("purged customer still projected after replay: %d %v", projected, err)
	}
}

func TestTouchpoints(t *testing.T) {
	t.Parallel()
	e := start(t)
	ctx := e.manager(t)
	list := must(e.interactions.ListTouchpoints(ctx, &ipb.ListTouchpointsRequest{PageSize: 100})).GetTouchpoints()
	if len(list) < 10 {
		t.Fatalf("%d default touchpoints", len(list))
	}
	tp, err := e.interactions.CreateTouchpoint(ctx, &ipb.CreateTouchpointRequest{TouchpointId: "wecom-group", Touchpoint: &ipb.Touchpoint{
		DisplayName: "WeCom customer group", Channel: ipb.Channel_CHANNEL_CHAT, JourneyStage: customerv1.LifecycleStage_LIFECYCLE_STAGE_LOYAL,
	}})
	if err != nil {
		t.Fatal(err)
	}
	_, err = e.interactions.CreateTouchpoint(ctx, &ipb.CreateTouchpointRequest{TouchpointId: "wecom-group", Touchpoint: &ipb.Touchpoint{DisplayName: "x", Channel: ipb.Channel_CHANNEL_CHAT}})
	testkit.WantCode(t, err, codes.AlreadyExists, "", "")
	_, err = e.interactions.CreateTouchpoint(ctx, &ipb.CreateTouchpointRequest{TouchpointId: "Bad Id", Touchpoint: &ipb.Touchpoint{DisplayName: "x", Channel: ipb.Channel_CHANNEL_CHAT}})
	testkit.WantCode(t, err, codes.InvalidArgument, "", "touchpoint_id")
	c := e.customer(t, &customerv1.Customer{DisplayName: "Sofia"})
	i := call(ipb.InteractionKind_INTERACTION_KIND_CONTACT, "")
	i.Touchpoint = tp.GetTouchpoint().GetName()
	if _, err := e.interactions.CreateInteraction(ctx, &ipb.CreateInteractionRequest{Parent: c.GetName(), Interaction: i}); err != nil {
		t.Fatal(err)
	}
	_, err = e.interactions.DeleteTouchpoint(ctx, &ipb.DeleteTouchpointRequest{Name: tp.GetTouchpoint().GetName()})
	testkit.WantCode(t, err, codes.FailedPrecondition, "", "")
}

func TestStreamEvents(t *testing.T) {
	t.Parallel()
	e := start(t)
	c := e.customer(t, &customerv1.Customer{DisplayName: "Event Source"})
	created, err := e.interactions.CreateInteraction(e.manager(t), &ipb.CreateInteractionRequest{Parent: c.GetName(), Interaction: call(ipb.InteractionKind_INTERACTION_KIND_NOTE, "n")})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(e.as(t, "analytics", auth.RoleService), 10*time.Second)
	defer cancel()
	stream, err := e.interactions.StreamEvents(ctx, &ipb.StreamEventsRequest{})
	if err != nil {
		t.Fatal(err)
	}
	ev, err := stream.Recv()
	if err != nil {
		t.Fatal(err)
	}
	var p ipb.InteractionChangedPayload
	if ev.GetEvent().GetType() != "interaction.created" || ev.GetEvent().GetSubject() != created.GetInteraction().GetName() ||
		ev.GetEvent().GetPayload().UnmarshalTo(&p) != nil || p.GetInteraction().GetSummary() != "n" {
		t.Fatalf("event %v", ev.GetEvent())
	}
	st, err := e.interactions.StreamEvents(e.as(t, "svc", auth.RoleService), &ipb.StreamEventsRequest{AfterSequence: -1})
	if err == nil {
		_, err = st.Recv()
	}
	testkit.WantCode(t, err, codes.InvalidArgument, "", "after_sequence")
}

// TestCustomerSnapshotsApplyPerBatch: a batch's snapshots are written in
// one statement up to the next event that does more, so that event's
// effect lands on the state before it; of several snapshots of one
// customer the latest wins; replays and older snapshots change nothing.
func TestCustomerSnapshotsApplyPerBatch(t *testing.T) {
	t.Parallel()
	e := start(t)
	ctx := context.Background()
	from, err := e.app.svc.CustomerCursor(ctx)
	if err != nil {
		t.Fatal(err)
	}
	from += 1000 // past anything the follower may still apply
	x, y := "0193a9a0-0000-7000-8000-00000000000a", "0193a9a0-0000-7000-8000-00000000000b"
	snap := func(id, name string, tags ...string) *customerref.Snapshot {
		return &customerref.Snapshot{ID: id, DisplayName: name, Kind: "PERSON", Stage: "PROSPECT", Tags: tags}
	}
	batch := []customerref.Event{
		{Sequence: from + 1, Type: customerref.EventCreated, CustomerID: x, Snapshot: snap(x, "X one", "vip")},
		{Sequence: from + 2, Type: "customer.updated", CustomerID: x, Snapshot: snap(x, "X two", "vip", "export")},
		{Sequence: from + 3, Type: customerref.EventStageChanged, CustomerID: x, Stage: "REPEAT"},
		{Sequence: from + 4, Type: customerref.EventCreated, CustomerID: y, Snapshot: snap(y, "Y one")},
		{Sequence: from + 5, Type: "customer.updated", CustomerID: y, Snapshot: snap(y, "Y two")},
	}
	check := func(when string) {
		t.Helper()
		for id, want := range map[string]string{x: "X two|REPEAT|{vip,export}|" + fmt.Sprint(from+3), y: "Y two|PROSPECT|{}|" + fmt.Sprint(from+5)} {
			var got string
			if err := e.app.Pool.QueryRow(ctx, `SELECT display_name || '|' || lifecycle_stage || '|' || tags::text || '|' || event_sequence
				FROM customers WHERE id = $1`, id).Scan(&got); err != nil || got != want {
				t.Errorf("%s: customer %s is %q, want %q (%v)", when, id, got, want, err)
			}
		}
	}
	if err := e.app.svc.ApplyCustomerEvents(ctx, batch); err != nil {
		t.Fatal(err)
	}
	check("after the batch")
	if err := e.app.svc.ApplyCustomerEvents(ctx, batch); err != nil {
		t.Fatal(err)
	}
	check("after a replay")
	if _, err := e.app.Pool.Exec(ctx, `UPDATE consumer_cursors SET sequence = $1 WHERE stream = 'customer'`, from); err != nil {
		t.Fatal(err)
	}
	if err := e.app.svc.ApplyCustomerEvents(ctx, batch[:1]); err != nil {
		t.Fatal(err)
	}
	check("after an older snapshot")
}
