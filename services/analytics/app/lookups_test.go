package app

import (
	"fmt"
	"slices"
	"testing"
	"time"

	"google.golang.org/grpc/codes"

	analyticsv1 "github.com/kehu-crm/kehu/pkg/api/kehu/analytics/v1"
	customerv1 "github.com/kehu-crm/kehu/pkg/api/kehu/customer/v1"
	"github.com/kehu-crm/kehu/pkg/auth"
	"github.com/kehu-crm/kehu/pkg/testkit"
)

// Batch lookups answer in the order asked, from the same cache, all or
// nothing; a segment's size is recorded per day.
func TestBatchLookupsAndSizes(t *testing.T) {
	t.Parallel()
	e := start(t)
	mgr := testkit.As(t, "mia", auth.RoleManager)
	bobs, pool := e.newCustomer(t, "Bob's buyer", "bob"), e.newCustomer(t, "Pool buyer", "")
	e.purchase(t, bobs, 2, "10")
	e.purchase(t, bobs, 9, "10")
	e.purchase(t, pool, 3, "10")
	if _, err := e.analytics.CreateSegment(mgr, &analyticsv1.CreateSegmentRequest{SegmentId: "twice", Segment: &analyticsv1.Segment{
		DisplayName: "Twice", Filter: "purchases_90d >= 2"}}); err != nil {
		t.Fatal(err)
	}
	testkit.Eventually(t, "purchases followed", func() bool {
		r, err := e.analytics.BatchCheckMembership(mgr, &analyticsv1.BatchCheckMembershipRequest{Segment: "segments/twice", Customers: []string{bobs, pool}})
		if err != nil {
			return false
		}
		f, err := e.analytics.GetCustomerInsights(mgr, &analyticsv1.GetCustomerInsightsRequest{Customer: pool})
		return r.GetResults()[0].GetMember() && err == nil && f.GetInsights().GetFacts().GetLastPurchaseTime() != nil
	})
	// Warm one of them, so the batch mixes cached and loaded answers.
	_ = e.segmentsOf(t, mgr, pool)
	got, err := e.analytics.BatchGetCustomerSegments(mgr, &analyticsv1.BatchGetCustomerSegmentsRequest{Customers: []string{pool, bobs, pool}})
	if err != nil {
		t.Fatal(err)
	}
	want := [][]string{e.segmentsOf(t, mgr, pool), e.segmentsOf(t, mgr, bobs), e.segmentsOf(t, mgr, pool)}
	for i, r := range got.GetResults() {
		if r.GetCustomer() != []string{pool, bobs, pool}[i] || !slices.Equal(r.GetSegments(), want[i]) {
			t.Errorf("result %d: %v, want %v", i, r, want[i])
		}
	}
	if !slices.Contains(want[1], "segments/twice") || slices.Contains(want[0], "segments/twice") {
		t.Errorf("segments: bob's %v, pool %v", want[1], want[0])
	}
	checks, err := e.analytics.BatchCheckMembership(mgr, &analyticsv1.BatchCheckMembershipRequest{Segment: "segments/twice", Customers: []string{bobs, pool}})
	if err != nil || !checks.GetResults()[0].GetMember() || checks.GetResults()[1].GetMember() {
		t.Errorf("batch check: %v %v", checks, err)
	}

	// All or nothing: an agent may not learn about bob's customer.
	_, err = e.analytics.BatchGetCustomerSegments(testkit.As(t, "alice", auth.RoleAgent), &analyticsv1.BatchGetCustomerSegmentsRequest{Customers: []string{pool, bobs}})
	if st := testkit.WantCode(t, err, codes.NotFound, "", ""); st != nil && st.Message() == "" {
		t.Error("no message")
	}
	_, err = e.analytics.BatchGetCustomerSegments(mgr, &analyticsv1.BatchGetCustomerSegmentsRequest{Customers: []string{pool, "customers/nope"}})
	testkit.WantCode(t, err, codes.InvalidArgument, "", "customers[1]")
	_, err = e.analytics.BatchGetCustomerSegments(mgr, &analyticsv1.BatchGetCustomerSegmentsRequest{})
	testkit.WantCode(t, err, codes.InvalidArgument, "", "customers")
	many := make([]string, 1001)
	for i := range many {
		many[i] = pool
	}
	_, err = e.analytics.BatchCheckMembership(mgr, &analyticsv1.BatchCheckMembershipRequest{Segment: "segments/twice", Customers: many})
	testkit.WantCode(t, err, codes.InvalidArgument, "", "customers")

	admin := testkit.As(t, "root", auth.RoleAdmin)
	if _, err := e.analytics.RecomputeAll(admin, &analyticsv1.RecomputeAllRequest{}); err != nil {
		t.Fatal(err)
	}
	sizes, err := e.analytics.ListSegmentSizes(mgr, &analyticsv1.ListSegmentSizesRequest{Parent: "segments/twice"})
	today := time.Now().UTC().Format(time.DateOnly)
	if err != nil || len(sizes.GetSizes()) != 1 || sizes.GetSizes()[0].GetDate() != today || sizes.GetSizes()[0].GetMemberCount() != 1 {
		t.Errorf("sizes of twice: %v %v", sizes, err)
	}
	e.purchase(t, pool, 1, "10") // pool joins; the scoring pass measures again
	testkit.Eventually(t, "pool buyer joins", func() bool { return slices.Contains(e.segmentsOf(t, mgr, pool), "segments/twice") })
	if _, err := e.analytics.RecomputeAll(admin, &analyticsv1.RecomputeAllRequest{}); err != nil {
		t.Fatal(err)
	}
	sizes, err = e.analytics.ListSegmentSizes(mgr, &analyticsv1.ListSegmentSizesRequest{Parent: "segments/twice"})
	if err != nil || len(sizes.GetSizes()) != 1 || sizes.GetSizes()[0].GetMemberCount() != 2 {
		t.Errorf("sizes of twice after the second member: %v %v", sizes, err)
	}
}

// Birthdays and needs come from the customer record; the birthday segment
// is personal: analysts and viewers (masked callers) cannot see it exist,
// nor who is in it.
func TestBirthdayAndNeedSegments(t *testing.T) {
	t.Parallel()
	e := start(t)
	mgr := testkit.As(t, "mia", auth.RoleManager)
	now := time.Now()
	birthday := fmt.Sprintf("1990-%02d-01", int(now.Month()))
	c, err := e.customers.CreateCustomer(mgr, &customerv1.CreateCustomerRequest{Customer: &customerv1.Customer{DisplayName: "Birthday person",
		Birthday: birthday, NeedProfile: &customerv1.NeedProfile{Functional: true, Social: true, PriceSensitivity: customerv1.PriceSensitivity_PRICE_SENSITIVITY_QUALITY}}})
	if err != nil {
		t.Fatal(err)
	}
	name := c.GetCustomer().GetName()
	testkit.Eventually(t, "the customer followed into their segments", func() bool {
		return slices.Contains(e.segmentsOf(t, mgr, name), "segments/birthdays-this-month")
	})
	for _, want := range []string{"segments/functional-needs", "segments/social-needs", "segments/quality-seeking"} {
		if got := e.segmentsOf(t, mgr, name); !slices.Contains(got, want) || slices.Contains(got, "segments/emotional-needs") {
			t.Errorf("segments %v: want %s, not emotional-needs", got, want)
		}
	}
	for _, role := range []auth.Role{auth.RoleAnalyst, auth.RoleViewer} {
		masked := testkit.As(t, "ana", role)
		if got := e.segmentsOf(t, masked, name); slices.Contains(got, "segments/birthdays-this-month") || !slices.Contains(got, "segments/functional-needs") {
			t.Errorf("%s sees segments %v", role, got)
		}
		batch, err := e.analytics.BatchGetCustomerSegments(masked, &analyticsv1.BatchGetCustomerSegmentsRequest{Customers: []string{name}})
		if err != nil || slices.Contains(batch.GetResults()[0].GetSegments(), "segments/birthdays-this-month") {
			t.Errorf("%s batch: %v %v", role, batch, err)
		}
		check, err := e.analytics.CheckMembership(masked, &analyticsv1.CheckMembershipRequest{Customer: name, Segment: "segments/birthdays-this-month"})
		if err != nil || check.GetMember() {
			t.Errorf("%s check: %v %v", role, check, err)
		}
		_, err = e.analytics.GetSegment(masked, &analyticsv1.GetSegmentRequest{Name: "segments/birthdays-this-month"})
		testkit.WantCode(t, err, codes.NotFound, "", "")
		_, err = e.analytics.ListSegmentMembers(masked, &analyticsv1.ListSegmentMembersRequest{Parent: "segments/birthdays-this-month"})
		testkit.WantCode(t, err, codes.NotFound, "", "")
		_, err = e.analytics.ListSegmentSizes(masked, &analyticsv1.ListSegmentSizesRequest{Parent: "segments/birthdays-this-month"})
		testkit.WantCode(t, err, codes.NotFound, "", "")
		list, err := e.analytics.ListSegments(masked, &analyticsv1.ListSegmentsRequest{PageSize: 100})
		if err != nil {
			t.Fatal(err)
		}
		for _, g := range list.GetSegments() {
			if g.GetPersonal() {
				t.Errorf("%s lists personal segment %s", role, g.GetName())
			}
		}
	}
	in, err := e.analytics.GetCustomerInsights(mgr, &analyticsv1.GetCustomerInsightsRequest{Customer: name})
	if err != nil || !slices.Equal(in.GetInsights().GetNeeds(), []string{"FUNCTIONAL", "SOCIAL"}) || in.GetInsights().GetPriceSensitivity() != "QUALITY" {
		t.Errorf("need profile in the insights: %v %v", in.GetInsights(), err)
	}
	seg, err := e.analytics.GetSegment(mgr, &analyticsv1.GetSegmentRequest{Name: "segments/birthdays-this-month"})
	if err != nil || !seg.GetSegment().GetPersonal() || seg.GetSegment().GetMemberCount() != 1 {
		t.Errorf("manager's view of the birthday segment: %v %v", seg, err)
	}
	// A segment of one's own over the birthday is personal too.
	own, err := e.analytics.CreateSegment(mgr, &analyticsv1.CreateSegmentRequest{SegmentId: "vip-birthdays", Segment: &analyticsv1.Segment{
		DisplayName: "VIP birthdays", Filter: `birthday_this_month = true AND needs:"SOCIAL"`}})
	if err != nil || !own.GetSegment().GetPersonal() {
		t.Fatalf("own birthday segment: %v %v", own, err)
	}
	if got := e.segmentsOf(t, testkit.As(t, "ana", auth.RoleAnalyst), name); slices.Contains(got, "segments/vip-birthdays") {
		t.Errorf("analyst sees the new personal segment: %v", got)
	}
}
