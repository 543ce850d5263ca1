package app

import (
	"context"
	"strings"
	"testing"
	"time"

	"google.golang.org/grpc/codes"
	"google.golang.org/protobuf/types/known/timestamppb"

	analyticsv1 "github.com/kehu-crm/kehu/pkg/api/kehu/analytics/v1"
	customerv1 "github.com/kehu-crm/kehu/pkg/api/kehu/customer/v1"
	interactionv1 "github.com/kehu-crm/kehu/pkg/api/kehu/interaction/v1"
	sdv1 "github.com/kehu-crm/kehu/pkg/api/kehu/servicedesk/v1"
	"github.com/kehu-crm/kehu/pkg/auth"
	"github.com/kehu-crm/kehu/pkg/testkit"
)

// The read model follows all three services: purchases (exact decimals
// per currency), contacts, a complaint and its low CSAT answer show up in
// the customer's facts and classes, with reasons; scoring makes the only
// buyer an A.
func TestInsightsFollowTheServices(t *testing.T) {
	t.Parallel()
	e := start(t)
	mgr := testkit.As(t, "mia", auth.RoleManager)
	c, err := e.customers.CreateCustomer(mgr, &customerv1.CreateCustomerRequest{Customer: &customerv1.Customer{DisplayName: "Li Na", AccountManager: "bob"}})
	if err != nil {
		t.Fatal(err)
	}
	name := c.GetCustomer().GetName()
	ago := func(days int) *timestamppb.Timestamp { return timestamppb.New(time.Now().AddDate(0, 0, -days)) }
	buy := func(days int, amount, currency string) *interactionv1.CreateInteractionRequest {
		return &interactionv1.CreateInteractionRequest{Interaction: &interactionv1.Interaction{
			Channel: interactionv1.Channel_CHANNEL_WEBSITE, Kind: interactionv1.InteractionKind_INTERACTION_KIND_PURCHASE,
			OccurTime: ago(days), Amount: &interactionv1.Money{CurrencyCode: currency, Amount: amount}}}
	}
	reqs := []*interactionv1.CreateInteractionRequest{
		buy(200, "100.50", "CNY"), buy(60, "200", "CNY"), buy(10, "50.25", "CNY"), buy(5, "9.99", "USD"),
		{Interaction: &interactionv1.Interaction{Channel: interactionv1.Channel_CHANNEL_PHONE, Kind: interactionv1.InteractionKind_INTERACTION_KIND_CONTACT, OccurTime: ago(2)}},
	}
	if _, err := e.interactions.BatchCreateInteractions(mgr, &interactionv1.BatchCreateInteractionsRequest{Parent: name, Requests: reqs}); err != nil {
		t.Fatal(err)
	}
	tk, err := e.desk.CreateTicket(mgr, &sdv1.CreateTicketRequest{Ticket: &sdv1.Ticket{Customer: name, Type: sdv1.TicketType_TICKET_TYPE_COMPLAINT,
		Channel: sdv1.Channel_CHANNEL_HOTLINE, Subject: "Broken lid"}})
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range []sdv1.Status{sdv1.Status_STATUS_OPEN, sdv1.Status_STATUS_RESOLVED} {
		if _, err := e.desk.TransitionTicket(mgr, &sdv1.TransitionTicketRequest{Name: tk.GetTicket().GetName(), Status: s,
			RootCause: "packaging", ResolutionSummary: "Replaced"}); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := e.desk.AnswerSurvey(context.Background(), &sdv1.AnswerSurveyRequest{Token: testkit.SurveyToken(t, e.deskConn, tk.GetTicket().GetName()), Score: 2}); err != nil {
		t.Fatal(err)
	}

	var in *analyticsv1.Insights
	testkit.Eventually(t, "the analytics read model catches up", func() bool {
		resp, err := e.analytics.GetCustomerInsights(mgr, &analyticsv1.GetCustomerInsightsRequest{Customer: name})
		in = resp.GetInsights()
		if err != nil {
			t.Log(err)
		}
		return err == nil && in.GetFacts().GetAverageCsat() == 2 && len(in.GetFacts().GetPurchases()) == 2 && in.GetFacts().GetLastContactTime() != nil
	})
	f := in.GetFacts()
	cny := f.GetPurchases()[0]
	if cny.GetCurrencyCode() != "CNY" || cny.GetCountLifetime() != 3 || cny.GetCount_90D() != 2 || cny.GetCount_12M() != 3 ||
		cny.GetAmountLifetime().GetAmount() != "350.75" || cny.GetAmount_90D().GetAmount() != "250.25" {
		t.Errorf("CNY purchases: %v", cny)
	}
	if usd := f.GetPurchases()[1]; usd.GetCurrencyCode() != "USD" || usd.GetAmountLifetime().GetAmount() != "9.99" {
		t.Errorf("USD purchases: %v", usd)
	}
	if f.GetComplaints_90D() != 1 || f.GetOpenTickets() != 0 || f.GetDaysSinceLastPurchase() != 5 || f.GetLastNps() != -1 {
		t.Errorf("facts: %v", f)
	}
	if in.GetSatisfaction().GetValue() != "LOW" || !strings.Contains(strings.Join(in.GetSatisfaction().GetReasons(), "; "), "average CSAT 2.0 over 1 surveys") {
		t.Errorf("satisfaction: %v", in.GetSatisfaction())
	}
	if in.GetValueTrend().GetValue() != "RISING" {
		t.Errorf("trend: %v", in.GetValueTrend())
	}

	_, err = e.analytics.RecomputeAll(mgr, &analyticsv1.RecomputeAllRequest{})
	testkit.WantCode(t, err, codes.PermissionDenied, "", "")
	if _, err := e.analytics.RecomputeAll(testkit.As(t, "root", auth.RoleAdmin), &analyticsv1.RecomputeAllRequest{}); err != nil {
		t.Fatal(err)
	}
	scored := must(e.analytics.GetCustomerInsights(mgr, &analyticsv1.GetCustomerInsightsRequest{Customer: name})).GetInsights()
	if scored.GetValueTier().GetValue() != "A" || scored.GetValueLevel() != "HIGH" || scored.GetRfm().GetRecency() != 5 || scored.GetRfm().GetLabel() != "CHAMPIONS" {
		t.Errorf("scores: tier %v, level %s, rfm %v", scored.GetValueTier(), scored.GetValueLevel(), scored.GetRfm())
	}
	// Agents see their own customers' insights only.
	_, err = e.analytics.GetCustomerInsights(testkit.As(t, "alice", auth.RoleAgent), &analyticsv1.GetCustomerInsightsRequest{Customer: name})
	testkit.WantCode(t, err, codes.NotFound, "", "")
	if _, err := e.analytics.GetCustomerInsights(testkit.As(t, "bob", auth.RoleAgent), &analyticsv1.GetCustomerInsightsRequest{Customer: name}); err != nil {
		t.Errorf("bob, the account manager: %v", err)
	}
	_, err = e.analytics.GetCustomerInsights(mgr, &analyticsv1.GetCustomerInsightsRequest{Customer: "people/1"})
	testkit.WantCode(t, err, codes.InvalidArgument, "", "customer")
}

func must[T any](v T, err error) T {
	if err != nil {
		panic(err)
	}
	return v
}

// A merge adds the merged customer's purchases to the survivor's facts;
// an unmerge gives back exactly the restored customer's.
func TestMergeAndUnmergeMoveFacts(t *testing.T) {
	t.Parallel()
	e := start(t)
	mgr := testkit.As(t, "mia", auth.RoleManager)
	survivor, dup := e.newCustomer(t, "Zhang Wei", ""), e.newCustomer(t, "Zhang Wei (dup)", "")
	e.purchase(t, survivor, 3, "100")
	e.purchase(t, dup, 4, "40")
	e.purchase(t, dup, 5, "60")
	lifetime := func(customer string) (int64, string) {
		r, err := e.analytics.GetCustomerInsights(mgr, &analyticsv1.GetCustomerInsightsRequest{Customer: customer})
		if err != nil || len(r.GetInsights().GetFacts().GetPurchases()) == 0 {
			return -1, "" // not followed yet (or no purchases left)
		}
		p := r.GetInsights().GetFacts().GetPurchases()[0]
		return p.GetCountLifetime(), p.GetAmountLifetime().GetAmount()
	}
	want := func(what, customer string, n int64, amount string) {
		t.Helper()
		testkit.Eventually(t, what, func() bool {
			gotN, gotAmount := lifetime(customer)
			return gotN == n && gotAmount == amount
		})
	}
	want("purchases followed", dup, 2, "100")
	want("purchases followed", survivor, 1, "100")
	if _, err := e.customers.MergeCustomers(mgr, &customerv1.MergeCustomersRequest{Survivor: survivor, Merged: []string{dup}}); err != nil {
		t.Fatal(err)
	}
	want("the survivor has all purchases", survivor, 3, "200")
	if _, err := e.customers.UnmergeCustomer(mgr, &customerv1.UnmergeCustomerRequest{Name: dup}); err != nil {
		t.Fatal(err)
	}
	want("the restored customer has theirs back", dup, 2, "100")
	want("the survivor keeps its own", survivor, 1, "100")
}
