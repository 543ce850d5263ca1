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

// A customer the projection has not seen is nobody's pool: agents see its
// records only if the customer service, asked as them, shows the customer.
func TestUnknownCustomerFailsClosed(t *testing.T) {
	t.Parallel()
	e := start(t, func(c *Config) { c.FollowCustomers = false })
	alice, bob := e.as(t, "alice", auth.RoleAgent), e.as(t, "bob", auth.RoleAgent)
	bobs := e.customer(t, &customerv1.Customer{DisplayName: "Bob's", AccountManager: "bob"})
	pool := e.customer(t, &customerv1.Customer{DisplayName: "Unassigned"})

	own := must(e.interactions.CreateInteraction(bob, &ipb.CreateInteractionRequest{Parent: bobs.GetName(), Interaction: call(ipb.InteractionKind_INTERACTION_KIND_CONTACT, "bob's own")}))
	carolCall := call(ipb.InteractionKind_INTERACTION_KIND_CONTACT, "carol's, for bob's customer")
	carolCall.Agent = "carol"
	carols := must(e.interactions.CreateInteraction(e.manager(t), &ipb.CreateInteractionRequest{Parent: bobs.GetName(), Interaction: carolCall}))
	poolCall := call(ipb.InteractionKind_INTERACTION_KIND_CONTACT, "pool")
	poolCall.Agent = "carol"
	pooled := must(e.interactions.CreateInteraction(e.manager(t), &ipb.CreateInteractionRequest{Parent: pool.GetName(), Interaction: poolCall}))

	// Alice: bob's customer is not hers, whatever the projection lacks.
	for _, name := range []string{own.GetInteraction().GetName(), carols.GetInteraction().GetName()} {
		_, err := e.interactions.GetInteraction(alice, &ipb.GetInteractionRequest{Name: name})
		testkit.WantCode(t, err, codes.NotFound, "", "")
	}
	for _, parent := range []string{"customers/-", bobs.GetName()} {
		list := must(e.interactions.ListInteractions(alice, &ipb.ListInteractionsRequest{Parent: parent}))
		for _, i := range list.GetInteractions() {
			if i.GetName() != pooled.GetInteraction().GetName() {
				t.Errorf("alice lists %s under %s", i.GetName(), parent)
			}
		}
	}
	followUp := &ipb.FollowUp{Purpose: "Visit", Channel: ipb.Channel_CHANNEL_MEETING, Assignee: "carol", DueTime: timestamppb.New(time.Now().Add(time.Hour))}
	visit := must(e.interactions.CreateFollowUp(e.manager(t), &ipb.CreateFollowUpRequest{Parent: bobs.GetName(), FollowUp: followUp}))
	_, err := e.interactions.GetFollowUp(alice, &ipb.GetFollowUpRequest{Name: visit.GetFollowUp().GetName()})
	testkit.WantCode(t, err, codes.NotFound, "", "")
	if list := must(e.interactions.ListFollowUps(alice, &ipb.ListFollowUpsRequest{Parent: "customers/-"})); len(list.GetFollowUps()) != 0 {
		t.Errorf("alice lists follow-ups of customers the projection does not know: %v", list.GetFollowUps())
	}

	// The customer service answers for customers the projection lacks.
	if _, err := e.interactions.GetInteraction(bob, &ipb.GetInteractionRequest{Name: carols.GetInteraction().GetName()}); err != nil {
		t.Errorf("bob reads carol's call with his customer: %v", err)
	}
	if _, err := e.interactions.GetFollowUp(bob, &ipb.GetFollowUpRequest{Name: visit.GetFollowUp().GetName()}); err != nil {
		t.Errorf("bob reads the visit to his customer: %v", err)
	}
	if list := must(e.interactions.ListInteractions(bob, &ipb.ListInteractionsRequest{Parent: bobs.GetName()})); len(list.GetInteractions()) != 2 {
		t.Errorf("bob's customer's timeline has %d interactions, want 2", len(list.GetInteractions()))
	}
	if _, err := e.interactions.GetInteraction(alice, &ipb.GetInteractionRequest{Name: pooled.GetInteraction().GetName()}); err != nil {
		t.Errorf("alice reads a call with an unassigned customer: %v", err)
	}
	// Across customers, only what the projection can vouch for: bob's own.
	if list := must(e.interactions.ListInteractions(bob, &ipb.ListInteractionsRequest{Parent: "customers/-"})); len(list.GetInteractions()) != 1 ||
		list.GetInteractions()[0].GetName() != own.GetInteraction().GetName() {
		t.Errorf("bob's cross-customer list: %v", list.GetInteractions())
	}
}

// A replayed request id answers only what the caller may see now: the
// replay skips the change (and the checks inside it) and reaches the
// read-back, which must judge visibility afresh. Here the customer service
// still lets alice reach the customer (unassigned), while the interaction
// service's projection, lagging, has bob managing it, and the interaction
// has passed to bob: the interaction service's own rule hides it from her.
func TestInteractionReplayRechecksAccess(t *testing.T) {
	t.Parallel()
	e := start(t, func(c *Config) { c.FollowCustomers = false })
	alice := e.as(t, "alice", auth.RoleAgent)
	c := e.customer(t, &customerv1.Customer{DisplayName: "Pool customer"})
	req := &ipb.CreateInteractionRequest{Parent: c.GetName(), Interaction: call(ipb.InteractionKind_INTERACTION_KIND_CONTACT, "secret"), RequestId: "r-1"}
	first := must(e.interactions.CreateInteraction(alice, req))
	if _, err := e.interactions.UpdateInteraction(e.manager(t), &ipb.UpdateInteractionRequest{
		Interaction: &ipb.Interaction{Name: first.GetInteraction().GetName(), Agent: "bob"}, UpdateMask: &fieldmaskpb.FieldMask{Paths: []string{"agent"}}}); err != nil {
		t.Fatal(err)
	}
	e.project(t, c.GetName(), "bob")

	_, err := e.interactions.CreateInteraction(alice, req)
	testkit.WantCode(t, err, codes.NotFound, "", "")
	// Bob's replay of his own request ids is untouched; alice's key stays hers.
	if _, err := e.interactions.GetInteraction(e.as(t, "bob", auth.RoleAgent), &ipb.GetInteractionRequest{Name: first.GetInteraction().GetName()}); err != nil {
		t.Errorf("bob reads the interaction: %v", err)
	}
}
