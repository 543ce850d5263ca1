package app

import (
	"context"
	"fmt"
	"testing"
	"time"

	"google.golang.org/grpc/codes"
	"google.golang.org/protobuf/types/known/fieldmaskpb"

	customerv1 "github.com/kehu-crm/kehu/pkg/api/kehu/customer/v1"
	"github.com/kehu-crm/kehu/pkg/auth"
	"github.com/kehu-crm/kehu/pkg/testkit"
)

// merge folds merged into survivor as a manager.
func (e *env) merge(t *testing.T, survivor string, merged ...string) *customerv1.Customer {
	t.Helper()
	resp, err := e.client.MergeCustomers(e.manager(t), &customerv1.MergeCustomersRequest{Survivor: survivor, Merged: merged})
	if err != nil {
		t.Fatalf("MergeCustomers(%s <- %v): %v", survivor, merged, err)
	}
	return resp.GetCustomer()
}

// Reads follow the old name of a merged customer; changes through it are
// refused, naming the survivor, so that a purge of an old name cannot
// erase the survivor and a merge cannot count one customer twice.
func TestMutationsOnMergedNameRefused(t *testing.T) {
	t.Parallel()
	e := start(t)
	ctx := e.manager(t)
	a := e.create(t, person("Survivor", "s@example.com", ""))
	b := e.create(t, person("Merged", "m@example.com", ""))
	c := e.create(t, person("Third", "t@example.com", ""))
	if _, err := e.client.AdjustPoints(ctx, &customerv1.AdjustPointsRequest{Name: b.GetName(), Delta: 100, Reason: "order", RequestId: "b-points"}); err != nil {
		t.Fatal(err)
	}
	e.merge(t, a.GetName(), b.GetName())

	old := b.GetName()
	calls := map[string]func() error{
		"UpdateCustomer": func() error {
			_, err := e.client.UpdateCustomer(ctx, &customerv1.UpdateCustomerRequest{
				Customer: &customerv1.Customer{Name: old, Title: "x"}, UpdateMask: &fieldmaskpb.FieldMask{Paths: []string{"title"}}})
			return err
		},
		"DeleteCustomer": func() error {
			_, err := e.client.DeleteCustomer(ctx, &customerv1.DeleteCustomerRequest{Name: old})
			return err
		},
		"PurgeCustomer": func() error {
			_, err := e.client.PurgeCustomer(e.admin(t), &customerv1.PurgeCustomerRequest{Name: old})
			return err
		},
		"AdjustPoints": func() error {
			_, err := e.client.AdjustPoints(ctx, &customerv1.AdjustPointsRequest{Name: old, Delta: 5, Reason: "x", RequestId: "old-points"})
			return err
		},
		"TransitionLifecycleStage": func() error {
			_, err := e.client.TransitionLifecycleStage(ctx, &customerv1.TransitionLifecycleStageRequest{Name: old, Stage: customerv1.LifecycleStage_LIFECYCLE_STAGE_REPEAT, Reason: "x"})
			return err
		},
		"AssignAccountManager": func() error {
			_, err := e.client.AssignAccountManager(ctx, &customerv1.AssignAccountManagerRequest{Name: old, AccountManager: "mia"})
			return err
		},
		// Merging the survivor's old name into it again would sum its
		// points twice.
		"MergeCustomers(old into survivor)": func() error {
			_, err := e.client.MergeCustomers(ctx, &customerv1.MergeCustomersRequest{Survivor: c.GetName(), Merged: []string{a.GetName(), old}})
			return err
		},
	}
	for method, call := range calls {
		st := testkit.WantCode(t, call(), codes.FailedPrecondition, "CUSTOMER_MERGED", "")
		if got := testkit.ErrorInfo(st).GetMetadata()["survivor"]; got != a.GetName() {
			t.Errorf("%s on %s: survivor %q, want %s", method, old, got, a.GetName())
		}
	}
	got, err := e.client.GetCustomer(ctx, &customerv1.GetCustomerRequest{Name: old})
	if err != nil || got.GetCustomer().GetName() != a.GetName() {
		t.Fatalf("read of the old name: %v, %v", got, err)
	}
	if p := got.GetCustomer().GetLoyaltyPoints(); p != 100 {
		t.Errorf("survivor has %d points, want 100 (nothing minted, nothing purged)", p)
	}
	if third, _ := e.client.GetCustomer(ctx, &customerv1.GetCustomerRequest{Name: c.GetName()}); third.GetCustomer().GetLoyaltyPoints() != 0 {
		t.Errorf("refused merge moved points: %v", third.GetCustomer().GetLoyaltyPoints())
	}
}

// A merge whose result breaks a customer's limits is refused: the survivor
// would otherwise be stuck, failing every later update.
func TestMergeKeepsLimits(t *testing.T) {
	t.Parallel()
	e := start(t)
	emails := func(prefix string, n int) []string {
		var out []string
		for i := range n {
			out = append(out, fmt.Sprintf("%s%d@example.com", prefix, i))
		}
		return out
	}
	a := e.create(t, &customerv1.Customer{DisplayName: "Many", Emails: emails("a", 6)})
	b := e.create(t, &customerv1.Customer{DisplayName: "More", Emails: emails("b", 6)})
	_, err := e.client.MergeCustomers(e.manager(t), &customerv1.MergeCustomersRequest{Survivor: a.GetName(), Merged: []string{b.GetName()}})
	testkit.WantCode(t, err, codes.FailedPrecondition, "MERGE_EXCEEDS_LIMITS", "")
	got, err := e.client.GetCustomer(e.manager(t), &customerv1.GetCustomerRequest{Name: b.GetName()})
	if err != nil || got.GetCustomer().GetName() != b.GetName() {
		t.Errorf("refused merge changed %s: %v %v", b.GetName(), got, err)
	}
}

// The deleted event of a merged customer says it is deleted, at which
// revision: a consumer must not keep it as live.
func TestMergedEventsCarryDeleteTimeAndRevision(t *testing.T) {
	t.Parallel()
	e := start(t)
	a := e.create(t, person("Survivor", "s@example.com", ""))
	b := e.create(t, person("Merged", "m@example.com", ""))
	e.merge(t, a.GetName(), b.GetName())

	ctx, cancel := context.WithCancel(e.as(t, "interaction", auth.RoleService))
	defer cancel()
	stream, err := e.client.StreamEvents(ctx, &customerv1.StreamEventsRequest{})
	if err != nil {
		t.Fatal(err)
	}
	for {
		resp, err := stream.Recv()
		if err != nil {
			t.Fatalf("no customer.deleted event for %s: %v", b.GetName(), err)
		}
		ev := resp.GetEvent()
		if ev.GetType() != "customer.deleted" || ev.GetSubject() != b.GetName() {
			continue
		}
		var p customerv1.CustomerChangedPayload
		if err := ev.GetPayload().UnmarshalTo(&p); err != nil {
			t.Fatal(err)
		}
		c := p.GetCustomer()
		if c.GetDeleteTime() == nil || c.GetEtag() == b.GetEtag() {
			t.Errorf("deleted event of merged customer: delete_time %v, etag %q (before the merge %q)", c.GetDeleteTime(), c.GetEtag(), b.GetEtag())
		}
		return
	}
}

// A replayed request id answers only what the caller may see now.
func TestReplayRechecksAccess(t *testing.T) {
	t.Parallel()
	e := start(t)
	alice := e.as(t, "alice", auth.RoleAgent)
	req := &customerv1.CreateCustomerRequest{Customer: person("Alice's", "alice-c@example.com", ""), RequestId: "create-1"}
	first, err := e.client.CreateCustomer(alice, req)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := e.client.AssignAccountManager(e.manager(t), &customerv1.AssignAccountManagerRequest{Name: first.GetCustomer().GetName(), AccountManager: "bob"}); err != nil {
		t.Fatal(err)
	}
	_, err = e.client.CreateCustomer(alice, req)
	testkit.WantCode(t, err, codes.NotFound, "", "")

	// Another caller's request id is not a key to the first caller's answer.
	carol := e.as(t, "carol", auth.RoleAgent)
	other, err := e.client.CreateCustomer(carol, &customerv1.CreateCustomerRequest{Customer: person("Carol's", "carol-c@example.com", ""), RequestId: "create-1"})
	if err != nil {
		t.Fatal(err)
	}
	if other.GetCustomer().GetName() == first.GetCustomer().GetName() {
		t.Errorf("carol's request id replayed alice's create")
	}
}

// Unmerge restores the merged customer as it was and takes back from the
// survivor what the merge gave it, points included.
func TestUnmergeRestoresBothSides(t *testing.T) {
	t.Parallel()
	e := start(t)
	ctx := e.manager(t)
	a := e.create(t, &customerv1.Customer{DisplayName: "Chen Jie", Emails: []string{"jie@example.com"}, Tags: []string{"vip"}})
	b := e.create(t, &customerv1.Customer{DisplayName: "Chen J.", Emails: []string{"cj@acme.cn"}, Title: "CTO", Tags: []string{"expo"}, ExternalId: "erp-9"})
	if _, err := e.client.AdjustPoints(ctx, &customerv1.AdjustPointsRequest{Name: b.GetName(), Delta: 300, Reason: "order", RequestId: "b-300"}); err != nil {
		t.Fatal(err)
	}
	merged := e.merge(t, a.GetName(), b.GetName())
	if merged.GetTitle() != "CTO" || merged.GetLoyaltyPoints() != 300 || merged.GetExternalId() != "erp-9" {
		t.Fatalf("merge: %v", merged)
	}
	// Points the survivor spent since cannot be handed back.
	if _, err := e.client.AdjustPoints(ctx, &customerv1.AdjustPointsRequest{Name: a.GetName(), Delta: -250, Reason: "reward", RequestId: "a-250"}); err != nil {
		t.Fatal(err)
	}
	_, err := e.client.UnmergeCustomer(ctx, &customerv1.UnmergeCustomerRequest{Name: b.GetName()})
	testkit.WantCode(t, err, codes.FailedPrecondition, "POINTS_SPENT", "")
	if _, err := e.client.AdjustPoints(ctx, &customerv1.AdjustPointsRequest{Name: a.GetName(), Delta: 250, Reason: "refund", RequestId: "a+250"}); err != nil {
		t.Fatal(err)
	}

	res, err := e.client.UnmergeCustomer(ctx, &customerv1.UnmergeCustomerRequest{Name: b.GetName(), RequestId: "unmerge-b"})
	if err != nil {
		t.Fatal(err)
	}
	r, s := res.GetCustomer(), res.GetSurvivor()
	if r.GetName() != b.GetName() || r.GetDeleteTime() != nil || r.GetTitle() != "CTO" || r.GetLoyaltyPoints() != 300 ||
		r.GetExternalId() != "erp-9" || len(r.GetEmails()) != 1 || r.GetEmails()[0] != "cj@acme.cn" {
		t.Errorf("restored: %v", r)
	}
	if s.GetName() != a.GetName() || s.GetTitle() != "" || s.GetLoyaltyPoints() != 0 || s.GetExternalId() != "" ||
		len(s.GetEmails()) != 1 || len(s.GetTags()) != 1 || len(s.GetMergedCustomers()) != 0 {
		t.Errorf("survivor after unmerge: %v", s)
	}
	// The restored customer owns its contacts again and takes changes.
	_, err = e.client.CreateCustomer(ctx, &customerv1.CreateCustomerRequest{Customer: person("Copy", "cj@acme.cn", "")})
	st := testkit.WantCode(t, err, codes.AlreadyExists, "DUPLICATE_CUSTOMER", "")
	if testkit.ErrorInfo(st).GetMetadata()["existing_customer"] != b.GetName() {
		t.Errorf("restored contact owned by %v", testkit.ErrorInfo(st).GetMetadata())
	}
	if _, err := e.client.UpdateCustomer(ctx, &customerv1.UpdateCustomerRequest{
		Customer: &customerv1.Customer{Name: b.GetName(), Title: "CEO"}, UpdateMask: &fieldmaskpb.FieldMask{Paths: []string{"title"}}}); err != nil {
		t.Errorf("update of the restored customer: %v", err)
	}
	// A replay answers the same; a second unmerge has nothing to undo.
	if again, err := e.client.UnmergeCustomer(ctx, &customerv1.UnmergeCustomerRequest{Name: b.GetName(), RequestId: "unmerge-b"}); err != nil || again.GetCustomer().GetName() != b.GetName() {
		t.Errorf("replayed unmerge: %v %v", again, err)
	}
	_, err = e.client.UnmergeCustomer(ctx, &customerv1.UnmergeCustomerRequest{Name: b.GetName()})
	testkit.WantCode(t, err, codes.FailedPrecondition, "CUSTOMER_NOT_MERGED", "")
	// Agents may not unmerge; an unknown name is not found.
	_, err = e.client.UnmergeCustomer(e.as(t, "alice", auth.RoleAgent), &customerv1.UnmergeCustomerRequest{Name: b.GetName()})
	testkit.WantCode(t, err, codes.PermissionDenied, "", "")
	_, err = e.client.UnmergeCustomer(ctx, &customerv1.UnmergeCustomerRequest{Name: "customers/" + "01890000-0000-7000-8000-000000000000"})
	testkit.WantCode(t, err, codes.NotFound, "", "")
}

// The unmerge window closes: afterwards the merge stands.
func TestUnmergeWindow(t *testing.T) {
	t.Parallel()
	e := start(t, func(c *Config) { c.UnmergeWindow = time.Nanosecond })
	a := e.create(t, person("A", "a@example.com", ""))
	b := e.create(t, person("B", "b@example.com", ""))
	e.merge(t, a.GetName(), b.GetName())
	time.Sleep(time.Millisecond)
	_, err := e.client.UnmergeCustomer(e.manager(t), &customerv1.UnmergeCustomerRequest{Name: b.GetName()})
	testkit.WantCode(t, err, codes.FailedPrecondition, "UNMERGE_WINDOW_PASSED", "")
}
