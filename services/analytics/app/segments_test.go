package app

import (
	"context"
	"fmt"
	"slices"
	"testing"
	"time"

	"google.golang.org/grpc/codes"
	"google.golang.org/protobuf/types/known/fieldmaskpb"
	"google.golang.org/protobuf/types/known/timestamppb"

	analyticsv1 "github.com/kehu-crm/kehu/pkg/api/kehu/analytics/v1"
	customerv1 "github.com/kehu-crm/kehu/pkg/api/kehu/customer/v1"
	interactionv1 "github.com/kehu-crm/kehu/pkg/api/kehu/interaction/v1"
	"github.com/kehu-crm/kehu/pkg/auth"
	"github.com/kehu-crm/kehu/pkg/testkit"
)

// purchase records a CNY purchase days ago.
func (e *env) purchase(t testing.TB, customer string, days int, amount string) {
	t.Helper()
	_, err := e.interactions.CreateInteraction(testkit.As(t, "mia", auth.RoleManager), &interactionv1.CreateInteractionRequest{Parent: customer,
		Interaction: &interactionv1.Interaction{Channel: interactionv1.Channel_CHANNEL_WEBSITE, Kind: interactionv1.InteractionKind_INTERACTION_KIND_PURCHASE,
			OccurTime: timestamppb.New(time.Now().AddDate(0, 0, -days)), Amount: &interactionv1.Money{CurrencyCode: "CNY", Amount: amount}}})
	if err != nil {
		t.Fatal(err)
	}
}

func (e *env) newCustomer(t testing.TB, name, manager string) string {
	t.Helper()
	c, err := e.customers.CreateCustomer(testkit.As(t, "mia", auth.RoleManager), &customerv1.CreateCustomerRequest{Customer: &customerv1.Customer{DisplayName: name, AccountManager: manager}})
	if err != nil {
		t.Fatal(err)
	}
	return c.GetCustomer().GetName()
}

func (e *env) segmentsOf(t *testing.T, ctx context.Context, customer string) []string {
	t.Helper()
	resp, err := e.analytics.GetCustomerSegments(ctx, &analyticsv1.GetCustomerSegmentsRequest{Customer: customer})
	if err != nil {
		return []string{"error: " + err.Error()}
	}
	return resp.GetSegments()
}

// Segments are evaluated when created and kept current as events arrive;
// the cached lookup never answers from before a committed change once it
// propagated; membership changes are published.
func TestSegmentsStayCurrent(t *testing.T) {
	t.Parallel()
	e := start(t)
	mgr := testkit.As(t, "mia", auth.RoleManager)
	busy, quiet := e.newCustomer(t, "Busy buyer", "bob"), e.newCustomer(t, "Quiet buyer", "")
	e.purchase(t, busy, 5, "300")
	e.purchase(t, busy, 20, "200")
	e.purchase(t, quiet, 40, "50")
	testkit.Eventually(t, "purchases followed", func() bool {
		r, err := e.analytics.GetCustomerInsights(mgr, &analyticsv1.GetCustomerInsightsRequest{Customer: quiet})
		return err == nil && r.GetInsights().GetFacts().GetLastPurchaseTime() != nil
	})
	if _, err := e.analytics.RecomputeAll(testkit.As(t, "root", auth.RoleAdmin), &analyticsv1.RecomputeAllRequest{}); err != nil {
		t.Fatal(err)
	}
	if got := e.segmentsOf(t, mgr, busy); !slices.Contains(got, "segments/high-value") {
		t.Errorf("busy buyer's segments: %v", got)
	}

	seg, err := e.analytics.CreateSegment(mgr, &analyticsv1.CreateSegmentRequest{SegmentId: "frequent", Segment: &analyticsv1.Segment{
		DisplayName: "Frequent buyers", Filter: "purchases_90d >= 2"}})
	if err != nil || seg.GetSegment().GetMemberCount() != 1 {
		t.Fatalf("create: %v %v", seg, err)
	}
	check := func(customer string) bool {
		r, err := e.analytics.CheckMembership(mgr, &analyticsv1.CheckMembershipRequest{Customer: customer, Segment: "segments/frequent"})
		if err != nil {
			t.Fatal(err)
		}
		return r.GetMember()
	}
	if !check(busy) || check(quiet) {
		t.Fatalf("membership: busy %t, quiet %t", check(busy), check(quiet))
	}
	// quiet's answer is cached now; a second purchase moves them in.
	e.purchase(t, quiet, 1, "80")
	testkit.Eventually(t, "quiet buyer enters the segment through the cache", func() bool { return check(quiet) })

	members, err := e.analytics.ListSegmentMembers(mgr, &analyticsv1.ListSegmentMembersRequest{Parent: "segments/frequent", PageSize: 1})
	if err != nil || len(members.GetCustomers()) != 1 || members.GetNextPageToken() == "" {
		t.Errorf("members page 1: %v %v", members, err)
	}
	// Agents: their own customers and the pool only.
	_, err = e.analytics.GetCustomerSegments(testkit.As(t, "alice", auth.RoleAgent), &analyticsv1.GetCustomerSegmentsRequest{Customer: busy})
	testkit.WantCode(t, err, codes.NotFound, "", "")
	if got := e.segmentsOf(t, testkit.As(t, "alice", auth.RoleAgent), quiet); !slices.Contains(got, "segments/frequent") {
		t.Errorf("alice on a pool customer: %v", got)
	}

	// Membership changes are events.
	ctx, cancel := context.WithTimeout(testkit.As(t, "webhooks", auth.RoleService), 3*time.Second)
	defer cancel()
	stream, err := e.analytics.StreamEvents(ctx, &analyticsv1.StreamEventsRequest{})
	if err != nil {
		t.Fatal(err)
	}
	entered := 0
	for {
		ev, err := stream.Recv()
		if err != nil {
			break
		}
		var p analyticsv1.SegmentMembershipPayload
		if ev.GetEvent().GetType() == "segment.entered" && ev.GetEvent().GetPayload().UnmarshalTo(&p) == nil && p.GetSegment() == "segments/frequent" {
			entered++
		}
	}
	if entered != 2 {
		t.Errorf("%d segment.entered events for segments/frequent, want 2", entered)
	}

	// Bad and forbidden changes.
	_, err = e.analytics.CreateSegment(mgr, &analyticsv1.CreateSegmentRequest{SegmentId: "bad", Segment: &analyticsv1.Segment{DisplayName: "Bad", Filter: "email = \"x\""}})
	testkit.WantCode(t, err, codes.InvalidArgument, "", "segment.filter")
	_, err = e.analytics.UpdateSegment(mgr, &analyticsv1.UpdateSegmentRequest{Segment: &analyticsv1.Segment{Name: "segments/high-value", Filter: `abc = "B"`},
		UpdateMask: &fieldmaskpb.FieldMask{Paths: []string{"filter"}}})
	testkit.WantCode(t, err, codes.FailedPrecondition, "SEGMENT_BUILTIN", "")
	_, err = e.analytics.CreateSegment(testkit.As(t, "bob", auth.RoleAgent), &analyticsv1.CreateSegmentRequest{SegmentId: "mine", Segment: &analyticsv1.Segment{DisplayName: "x", Filter: "abc = \"A\""}})
	testkit.WantCode(t, err, codes.PermissionDenied, "", "")
}

// With Redis unreachable the lookups answer from PostgreSQL.
func TestSegmentLookupsWithoutRedis(t *testing.T) {
	t.Parallel()
	e := start(t, func(c *Config) { c.RedisURL = "redis://127.0.0.1:1/0" })
	c := e.newCustomer(t, "Someone", "")
	e.purchase(t, c, 400, "10")
	var last []string
	for deadline := time.Now().Add(60 * time.Second); !slices.Contains(last, "segments/dormant"); time.Sleep(50 * time.Millisecond) {
		mgr := testkit.As(t, "mia", auth.RoleManager) // each call its own deadline
		if time.Now().After(deadline) {
			r, err := e.analytics.GetCustomerInsights(mgr, &analyticsv1.GetCustomerInsightsRequest{Customer: c})
			t.Fatalf("the dormant segment without Redis: segments %v; insights %v %v", last, r, err)
		}
		last = e.segmentsOf(t, mgr, c)
	}
}

// The cache-coherence test across two replicas: each answers lookups from
// its memory, and a membership change committed on either (the follower's
// event on the first, a segment edit on the second) reaches the other's
// next lookups without waiting for any expiry (entries live a minute in
// memory here, longer than Eventually waits).
func TestSegmentCacheCoherentAcrossReplicas(t *testing.T) {
	t.Parallel()
	e := start(t)
	replicas := []analyticsv1.AnalyticsServiceClient{e.analytics, analyticsv1.NewAnalyticsServiceClient(testkit.Dial(t, e.replica(t)))}
	mgr := testkit.As(t, "mia", auth.RoleManager)
	c := e.newCustomer(t, "Coherent buyer", "")
	e.purchase(t, c, 3, "10")
	testkit.Eventually(t, "the purchase followed", func() bool {
		r, err := e.analytics.GetCustomerInsights(mgr, &analyticsv1.GetCustomerInsightsRequest{Customer: c})
		return err == nil && r.GetInsights().GetFacts().GetLastPurchaseTime() != nil
	})
	if _, err := replicas[1].CreateSegment(mgr, &analyticsv1.CreateSegmentRequest{SegmentId: "twice", Segment: &analyticsv1.Segment{
		DisplayName: "Bought twice", Filter: "purchases_90d >= 2"}}); err != nil {
		t.Fatal(err)
	}
	member := func(r analyticsv1.AnalyticsServiceClient) bool {
		resp, err := r.CheckMembership(mgr, &analyticsv1.CheckMembershipRequest{Customer: c, Segment: "segments/twice"})
		if err != nil {
			t.Fatal(err)
		}
		return resp.GetMember()
	}
	expect := func(what string, want bool) {
		t.Helper()
		start := time.Now()
		for i, r := range replicas {
			testkit.Eventually(t, fmt.Sprintf("replica %d: %s", i+1, what), func() bool { return member(r) == want })
		}
		t.Logf("%s: both replicas answered %t after %s", what, want, time.Since(start).Round(time.Millisecond))
	}
	expect("one purchase", false)
	for range 20 { // both replicas answer from memory now
		for _, r := range replicas {
			if member(r) {
				t.Fatal("member before the second purchase")
			}
		}
	}
	e.purchase(t, c, 1, "10") // followed on the first replica
	expect("the second purchase", true)
	if _, err := replicas[1].UpdateSegment(mgr, &analyticsv1.UpdateSegmentRequest{ // evaluated on the second
		Segment: &analyticsv1.Segment{Name: "segments/twice", Filter: "purchases_90d >= 3"}, UpdateMask: &fieldmaskpb.FieldMask{Paths: []string{"filter"}}}); err != nil {
		t.Fatal(err)
	}
	expect("the stricter filter", false)
}
