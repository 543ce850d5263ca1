package app

import (
	"context"
	"strings"
	"testing"
	"time"

	"google.golang.org/grpc/codes"

	analyticsv1 "github.com/kehu-crm/kehu/pkg/api/kehu/analytics/v1"
	interactionv1 "github.com/kehu-crm/kehu/pkg/api/kehu/interaction/v1"
	"github.com/kehu-crm/kehu/pkg/auth"
	"github.com/kehu-crm/kehu/pkg/testkit"
)

// A silent, dissatisfied customer crosses the churn threshold: the risk
// comes with its reasons, the customer is listed for their account manager
// by value at risk, and one churn.warning is raised however many passes
// see it.
func TestChurnWarning(t *testing.T) {
	t.Parallel()
	e := start(t)
	mgr := testkit.As(t, "mia", auth.RoleManager)
	c := e.newCustomer(t, "Drifting away", "bob")
	for _, days := range []int{180, 150, 120} {
		e.purchase(t, c, days, "100")
	}
	// Scored as tier A (the only buyer) before the risk builds up.
	testkit.Eventually(t, "purchases followed", func() bool {
		r, err := e.analytics.GetCustomerInsights(mgr, &analyticsv1.GetCustomerInsightsRequest{Customer: c})
		return err == nil && r.GetInsights().GetFacts().GetPurchases() != nil && r.GetInsights().GetFacts().GetPurchases()[0].GetCountLifetime() == 3
	})
	if _, err := e.analytics.RecomputeAll(testkit.As(t, "root", auth.RoleAdmin), &analyticsv1.RecomputeAllRequest{}); err != nil {
		t.Fatal(err)
	}
	e.complaint(t, c, 1)
	var risk *analyticsv1.ChurnRisk
	testkit.Eventually(t, "the churn risk builds up", func() bool {
		r, err := e.analytics.GetCustomerInsights(mgr, &analyticsv1.GetCustomerInsightsRequest{Customer: c})
		risk = r.GetInsights().GetChurnRisk()
		return err == nil && risk.GetScore() >= 70 && r.GetInsights().GetFacts().GetAverageCsat() == 1
	})
	reasons := strings.Join(risk.GetReasons(), "; ")
	for _, want := range []string{"no purchase for 4.0× the usual interval", "1 complaints in 90 days", "CSAT fell to 1.0"} {
		if !strings.Contains(reasons, want) {
			t.Errorf("reasons %q lack %q", reasons, want)
		}
	}
	for range 2 {
		if _, err := e.app.RunLifecycleOnce(context.Background()); err != nil {
			t.Fatal(err)
		}
	}
	list, err := e.analytics.ListAtRiskCustomers(testkit.As(t, "bob", auth.RoleAgent), &analyticsv1.ListAtRiskCustomersRequest{})
	if err != nil || len(list.GetCustomers()) != 1 || list.GetCustomers()[0].GetValueAtRisk().GetAmount() != "300" {
		t.Fatalf("bob's at-risk customers: %v %v", list, err)
	}
	_, err = e.analytics.ListAtRiskCustomers(testkit.As(t, "alice", auth.RoleAgent), &analyticsv1.ListAtRiskCustomersRequest{AccountManager: "bob"})
	testkit.WantCode(t, err, codes.PermissionDenied, "", "")

	ctx, cancel := context.WithTimeout(testkit.As(t, "webhooks", auth.RoleService), 3*time.Second)
	defer cancel()
	stream, err := e.analytics.StreamEvents(ctx, &analyticsv1.StreamEventsRequest{})
	if err != nil {
		t.Fatal(err)
	}
	warnings := 0
	for {
		ev, err := stream.Recv()
		if err != nil {
			break
		}
		if ev.GetEvent().GetType() == "churn.warning" && ev.GetEvent().GetSubject() == c {
			warnings++
		}
	}
	if warnings != 1 {
		t.Errorf("%d churn warnings, want 1", warnings)
	}
	// Tier A: one retention visit for the account manager, however many
	// passes ran.
	visits, err := e.interactions.ListFollowUps(mgr, &interactionv1.ListFollowUpsRequest{Parent: c})
	if err != nil {
		t.Fatal(err)
	}
	retention := 0
	for _, f := range visits.GetFollowUps() {
		if strings.Contains(f.GetPurpose(), "Retention visit") && f.GetAssignee() == "bob" {
			retention++
		}
	}
	if retention != 1 {
		t.Errorf("%d retention visits for bob, want 1: %v", retention, visits.GetFollowUps())
	}
}
