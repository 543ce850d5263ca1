package app

import (
	"testing"
	"time"

	"google.golang.org/protobuf/types/known/timestamppb"

	customerv1 "github.com/kehu-crm/kehu/pkg/api/kehu/customer/v1"
	ipb "github.com/kehu-crm/kehu/pkg/api/kehu/interaction/v1"
	"github.com/kehu-crm/kehu/pkg/testkit"
)

// An unmerge in the customer service moves back exactly the records the
// merge moved: the restored customer's own interactions and follow-ups,
// not the survivor's, nor those recorded on the survivor since.
func TestUnmergeReturnsMovedRecords(t *testing.T) {
	t.Parallel()
	e := start(t)
	ctx := e.manager(t)
	survivor := e.customer(t, &customerv1.Customer{DisplayName: "Zhao Min", Emails: []string{"min@example.cn"}})
	dup := e.customer(t, &customerv1.Customer{DisplayName: "Zhao M.", Emails: []string{"zm@example.cn"}})
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
		return e.countInteractions(t, survivor.GetName()) == 3
	})
	if _, err := e.interactions.CreateInteraction(ctx, &ipb.CreateInteractionRequest{Parent: survivor.GetName(), Interaction: call(ipb.InteractionKind_INTERACTION_KIND_CONTACT, "after the merge")}); err != nil {
		t.Fatal(err)
	}
	if _, err := e.customers.UnmergeCustomer(ctx, &customerv1.UnmergeCustomerRequest{Name: dup.GetName()}); err != nil {
		t.Fatal(err)
	}
	testkit.Eventually(t, "records moved back", func() bool {
		return e.countInteractions(t, dup.GetName()) == 2 && e.countInteractions(t, survivor.GetName()) == 2
	})
	fus := must(e.interactions.ListFollowUps(ctx, &ipb.ListFollowUpsRequest{Parent: dup.GetName()})).GetFollowUps()
	if len(fus) != 1 {
		t.Errorf("follow-ups of the restored customer: %v", fus)
	}
	// The restored customer is live again here: new records stay on it.
	late, err := e.interactions.CreateInteraction(ctx, &ipb.CreateInteractionRequest{Parent: dup.GetName(), Interaction: call(ipb.InteractionKind_INTERACTION_KIND_CONTACT, "late")})
	if err != nil || late.GetInteraction().GetName()[:len(dup.GetName())] != dup.GetName() {
		t.Errorf("interaction for the restored customer: %v %v", late, err)
	}
}
