package app

import (
	"testing"
	"time"

	"google.golang.org/grpc/codes"
	"google.golang.org/protobuf/types/known/fieldmaskpb"
	"google.golang.org/protobuf/types/known/timestamppb"

	customerv1 "github.com/kehu-crm/kehu/pkg/api/kehu/customer/v1"
	ipb "github.com/kehu-crm/kehu/pkg/api/kehu/interaction/v1"
	"github.com/kehu-crm/kehu/pkg/auth"
	"github.com/kehu-crm/kehu/pkg/testkit"
)

// Masked callers cannot recover order references by filtering on them.
func TestMaskedOrderReferenceNotFilterable(t *testing.T) {
	t.Parallel()
	e := start(t)
	c := e.customer(t, &customerv1.Customer{DisplayName: "Buyer"})
	if _, err := e.interactions.CreateInteraction(e.manager(t), &ipb.CreateInteractionRequest{Parent: c.GetName(), Interaction: purchase("12.00", "CNY")}); err != nil {
		t.Fatal(err)
	}
	for _, role := range []auth.Role{auth.RoleViewer, auth.RoleAnalyst} {
		_, err := e.interactions.ListInteractions(e.as(t, "someone", role), &ipb.ListInteractionsRequest{Parent: "customers/-", Filter: `order_reference = "SO-1001"`})
		testkit.WantCode(t, err, codes.InvalidArgument, "", "filter")
	}
	resp, err := e.interactions.ListInteractions(e.manager(t), &ipb.ListInteractionsRequest{Parent: "customers/-", Filter: `order_reference = "SO-1001"`})
	if err != nil || len(resp.GetInteractions()) != 1 {
		t.Errorf("manager filter by order reference: %v %v", resp, err)
	}
}

// Agents assign work only to themselves; managers assign anyone.
func TestAgentsCannotAssignOthers(t *testing.T) {
	t.Parallel()
	e := start(t)
	alice := e.as(t, "alice", auth.RoleAgent)
	c, err := e.customers.CreateCustomer(alice, &customerv1.CreateCustomerRequest{Customer: &customerv1.Customer{DisplayName: "Alice's"}})
	if err != nil {
		t.Fatal(err)
	}
	parent := c.GetCustomer().GetName()
	forBob := call(ipb.InteractionKind_INTERACTION_KIND_CONTACT, "hi")
	forBob.Agent = "bob"
	_, err = e.interactions.CreateInteraction(alice, &ipb.CreateInteractionRequest{Parent: parent, Interaction: forBob})
	testkit.WantCode(t, err, codes.PermissionDenied, "", "")
	visit := func(assignee string) *ipb.FollowUp {
		return &ipb.FollowUp{Purpose: "Visit", Channel: ipb.Channel_CHANNEL_MEETING, Assignee: assignee, DueTime: timestamppb.New(time.Now().Add(time.Hour))}
	}
	_, err = e.interactions.CreateFollowUp(alice, &ipb.CreateFollowUpRequest{Parent: parent, FollowUp: visit("bob")})
	testkit.WantCode(t, err, codes.PermissionDenied, "", "")

	own, err := e.interactions.CreateInteraction(alice, &ipb.CreateInteractionRequest{Parent: parent, Interaction: call(ipb.InteractionKind_INTERACTION_KIND_CONTACT, "mine")})
	if err != nil {
		t.Fatal(err)
	}
	_, err = e.interactions.UpdateInteraction(alice, &ipb.UpdateInteractionRequest{
		Interaction: &ipb.Interaction{Name: own.GetInteraction().GetName(), Agent: "bob"}, UpdateMask: &fieldmaskpb.FieldMask{Paths: []string{"agent"}}})
	testkit.WantCode(t, err, codes.PermissionDenied, "", "")
	fu, err := e.interactions.CreateFollowUp(alice, &ipb.CreateFollowUpRequest{Parent: parent, FollowUp: visit("")})
	if err != nil {
		t.Fatal(err)
	}
	_, err = e.interactions.UpdateFollowUp(alice, &ipb.UpdateFollowUpRequest{
		FollowUp: &ipb.FollowUp{Name: fu.GetFollowUp().GetName(), Assignee: "bob"}, UpdateMask: &fieldmaskpb.FieldMask{Paths: []string{"assignee"}}})
	testkit.WantCode(t, err, codes.PermissionDenied, "", "")

	if _, err := e.interactions.CreateInteraction(e.manager(t), &ipb.CreateInteractionRequest{Parent: parent, Interaction: forBob}); err != nil {
		t.Errorf("manager assigning bob: %v", err)
	}
}

// A replayed request id answers only what the caller may still see.
func TestInteractionReplayRechecksAccess(t *testing.T) {
	t.Parallel()
	e := start(t)
	alice := e.as(t, "alice", auth.RoleAgent)
	c, err := e.customers.CreateCustomer(alice, &customerv1.CreateCustomerRequest{Customer: &customerv1.Customer{DisplayName: "Alice's"}})
	if err != nil {
		t.Fatal(err)
	}
	req := &ipb.CreateInteractionRequest{Parent: c.GetCustomer().GetName(), Interaction: call(ipb.InteractionKind_INTERACTION_KIND_CONTACT, "secret"), RequestId: "r-1"}
	first, err := e.interactions.CreateInteraction(alice, req)
	if err != nil {
		t.Fatal(err)
	}
	// The customer and the interaction pass to bob.
	if _, err := e.customers.AssignAccountManager(e.manager(t), &customerv1.AssignAccountManagerRequest{Name: c.GetCustomer().GetName(), AccountManager: "bob"}); err != nil {
		t.Fatal(err)
	}
	if _, err := e.interactions.UpdateInteraction(e.manager(t), &ipb.UpdateInteractionRequest{
		Interaction: &ipb.Interaction{Name: first.GetInteraction().GetName(), Agent: "bob"}, UpdateMask: &fieldmaskpb.FieldMask{Paths: []string{"agent"}}}); err != nil {
		t.Fatal(err)
	}
	testkit.Eventually(t, "alice no longer sees the interaction", func() bool {
		_, err := e.interactions.GetInteraction(alice, &ipb.GetInteractionRequest{Name: first.GetInteraction().GetName()})
		return err != nil
	})
	_, err = e.interactions.CreateInteraction(alice, req)
	testkit.WantCode(t, err, codes.NotFound, "", "")
}
