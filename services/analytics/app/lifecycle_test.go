package app

import (
	"context"
	"strings"
	"testing"

	analyticsv1 "github.com/kehu-crm/kehu/pkg/api/kehu/analytics/v1"
	customerv1 "github.com/kehu-crm/kehu/pkg/api/kehu/customer/v1"
	"github.com/kehu-crm/kehu/pkg/auth"
	"github.com/kehu-crm/kehu/pkg/testkit"
)

// Purchases and silence move customers along the lifecycle, written back
// to the customer service with the reason; a stage a person set stands.
func TestLifecycleAutoAdvance(t *testing.T) {
	t.Parallel()
	e := start(t)
	mgr := testkit.As(t, "mia", auth.RoleManager)
	stageOf := func(customer string) string {
		c, err := e.customers.GetCustomer(mgr, &customerv1.GetCustomerRequest{Name: customer})
		if err != nil {
			t.Fatal(err)
		}
		return strings.TrimPrefix(c.GetCustomer().GetLifecycleStage().String(), "LIFECYCLE_STAGE_")
	}
	// advance runs lifecycle passes until customer reaches want (the
	// pass proposes from facts the followers may still be catching up on).
	advance := func(customer, want string) {
		t.Helper()
		testkit.Eventually(t, customer+" to "+want, func() bool {
			if _, err := e.app.RunLifecycleOnce(context.Background()); err != nil {
				t.Log(err)
			}
			return stageOf(customer) == want
		})
	}
	fresh, silent, held := e.newCustomer(t, "Fresh", ""), e.newCustomer(t, "Silent", ""), e.newCustomer(t, "Held", "")
	e.purchase(t, fresh, 3, "99")
	advance(fresh, "FIRST_PURCHASE")
	e.purchase(t, fresh, 1, "120")
	advance(fresh, "REPEAT")
	e.purchase(t, silent, 200, "50")
	advance(silent, "AT_RISK")

	history, err := e.customers.ListLifecycleTransitions(mgr, &customerv1.ListLifecycleTransitionsRequest{Parent: silent})
	if err != nil || len(history.GetLifecycleTransitions()) == 0 {
		t.Fatalf("history: %v %v", history, err)
	}
	last := history.GetLifecycleTransitions()[0] // newest first
	if last.GetActor() != "analytics" || !strings.Contains(last.GetReason(), "no purchase for 200 days") {
		t.Errorf("transition: %v", last)
	}

	// A manager's choice stands for the hold period.
	if _, err := e.customers.TransitionLifecycleStage(mgr, &customerv1.TransitionLifecycleStageRequest{Name: held,
		Stage: customerv1.LifecycleStage_LIFECYCLE_STAGE_LOYAL, Reason: "key account"}); err != nil {
		t.Fatal(err)
	}
	e.purchase(t, held, 2, "10")
	testkit.Eventually(t, "held's purchase and manual stage followed", func() bool {
		r, err := e.analytics.GetCustomerInsights(mgr, &analyticsv1.GetCustomerInsightsRequest{Customer: held})
		return err == nil && r.GetInsights().GetFacts().GetLastPurchaseTime() != nil && r.GetInsights().GetFacts().GetLifecycleStage() == "LOYAL"
	})
	if _, err := e.app.RunLifecycleOnce(context.Background()); err != nil {
		t.Fatal(err)
	}
	if got := stageOf(held); got != "LOYAL" {
		t.Errorf("held moved to %s during the manual hold", got)
	}
}

// The scoring pass's ABC tiers are written back to the customer records
// as the analytics service; a prospect who never bought keeps no tier.
func TestValueTierWrittenBack(t *testing.T) {
	t.Parallel()
	e := start(t)
	mgr := testkit.As(t, "mia", auth.RoleManager)
	big, small, prospect := e.newCustomer(t, "Big spender", ""), e.newCustomer(t, "Small spender", ""), e.newCustomer(t, "Prospect", "")
	e.purchase(t, big, 5, "9000")
	e.purchase(t, small, 5, "100")
	tierOf := func(customer string) string {
		c, err := e.customers.GetCustomer(mgr, &customerv1.GetCustomerRequest{Name: customer})
		if err != nil {
			t.Fatal(err)
		}
		return strings.TrimPrefix(c.GetCustomer().GetValueTier().String(), "VALUE_TIER_")
	}
	admin := testkit.As(t, "root", auth.RoleAdmin)
	testkit.Eventually(t, "tiers written back", func() bool {
		if _, err := e.analytics.RecomputeAll(admin, &analyticsv1.RecomputeAllRequest{}); err != nil {
			t.Fatal(err)
		}
		if _, err := e.app.RunLifecycleOnce(context.Background()); err != nil {
			t.Log(err)
		}
		return tierOf(big) == "A" && tierOf(small) == "C"
	})
	if got := tierOf(prospect); got != "UNSPECIFIED" {
		t.Errorf("prospect's tier: %s", got)
	}
	// Once the records agree, nothing more is proposed.
	testkit.Eventually(t, "the records' tiers followed back", func() bool {
		if _, err := e.analytics.RecomputeAll(admin, &analyticsv1.RecomputeAllRequest{}); err != nil {
			t.Fatal(err)
		}
		var n int
		err := e.app.Pool.QueryRow(context.Background(), `SELECT count(*) FROM analytics.tier_proposals`).Scan(&n)
		return err == nil && n == 0
	})
}
