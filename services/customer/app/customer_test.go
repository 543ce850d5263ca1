package app

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/metadata"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/fieldmaskpb"

	customerv1 "github.com/kehu-crm/kehu/pkg/api/kehu/customer/v1"
	"github.com/kehu-crm/kehu/pkg/auth"
	"github.com/kehu-crm/kehu/pkg/testkit"
)

func person(name, email, phone string) *customerv1.Customer {
	c := &customerv1.Customer{DisplayName: name, Source: customerv1.SourceChannel_SOURCE_CHANNEL_WEBSITE}
	if email != "" {
		c.Emails = []string{email}
	}
	if phone != "" {
		c.Phones = []string{phone}
	}
	return c
}

func TestCreateNormalisesAndIsIdempotent(t *testing.T) {
	t.Parallel()
	e := start(t)
	ctx := e.manager(t)
	req := &customerv1.CreateCustomerRequest{
		Customer:  person("Li Na", "Li.Na@Example.com", "138 1234 5678"),
		RequestId: "create-li-na",
	}
	first, err := e.client.CreateCustomer(ctx, req)
	if err != nil {
		t.Fatal(err)
	}
	c := first.GetCustomer()
	if !strings.HasPrefix(c.GetName(), "customers/") || c.GetEtag() == "" || c.GetCreateTime() == nil {
		t.Errorf("output-only fields not set: %v", c)
	}
	if c.GetEmails()[0] != "li.na@example.com" || c.GetPhones()[0] != "+8613812345678" {
		t.Errorf("not normalised: %v %v", c.GetEmails(), c.GetPhones())
	}
	if c.GetLifecycleStage() != customerv1.LifecycleStage_LIFECYCLE_STAGE_PROSPECT || c.GetMembershipTier() != customerv1.MembershipTier_MEMBERSHIP_TIER_BASIC {
		t.Errorf("defaults: stage %s tier %s", c.GetLifecycleStage(), c.GetMembershipTier())
	}
	again, err := e.client.CreateCustomer(ctx, req)
	if err != nil {
		t.Fatalf("retry: %v", err)
	}
	if again.GetCustomer().GetName() != c.GetName() {
		t.Errorf("retry created %s, first %s", again.GetCustomer().GetName(), c.GetName())
	}
	other := proto.Clone(req).(*customerv1.CreateCustomerRequest)
	other.Customer.DisplayName = "Someone Else"
	_, err = e.client.CreateCustomer(ctx, other)
	testkit.WantCode(t, err, codes.InvalidArgument, "", "request_id")
	if n := e.count(t); n != 1 {
		t.Errorf("%d customers exist, want 1", n)
	}
}

func TestCreateRejectsBadInputAndWritesNothing(t *testing.T) {
	t.Parallel()
	e := start(t)
	tests := []struct {
		name  string
		c     *customerv1.Customer
		field string
	}{
		{"empty name", person("", "", ""), "customer.display_name"},
		{"overlong name", person(strings.Repeat("名", 201), "", ""), "customer.display_name"},
		{"malformed email", person("A", "not-an-email", ""), "customer.emails[0]"},
		{"malformed phone", person("A", "", "12345"), "customer.phones[0]"},
		{"unknown enum", &customerv1.Customer{DisplayName: "A", LifecycleStage: 99}, "customer.lifecycle_stage"},
		{"unknown source", &customerv1.Customer{DisplayName: "A", Source: 42}, "customer.source"},
		{"impossible birthday", &customerv1.Customer{DisplayName: "A", Birthday: "2001-02-29"}, "customer.birthday"},
	}
	for _, tt := range tests {
		_, err := e.client.CreateCustomer(e.manager(t), &customerv1.CreateCustomerRequest{Customer: tt.c})
		t.Run(tt.name, func(t *testing.T) { testkit.WantCode(t, err, codes.InvalidArgument, "", tt.field) })
	}
	_, err := e.client.CreateCustomer(e.manager(t), &customerv1.CreateCustomerRequest{})
	testkit.WantCode(t, err, codes.InvalidArgument, "", "customer")
	if n := e.count(t); n != 0 {
		t.Errorf("%d customers written by rejected requests", n)
	}
}

func TestDuplicateContactRefused(t *testing.T) {
	t.Parallel()
	e := start(t)
	first := e.create(t, person("Wang Wei", "wei@example.com", "+8613900001111"))
	for _, c := range []*customerv1.Customer{
		person("W. Wang", "WEI@example.com", ""),
		person("Wei", "", "139 0000 1111"),
	} {
		_, err := e.client.CreateCustomer(e.manager(t), &customerv1.CreateCustomerRequest{Customer: c})
		st := testkit.WantCode(t, err, codes.AlreadyExists, "", "")
		if info := testkit.ErrorInfo(st); info.GetMetadata()["existing_customer"] != first.GetName() {
			t.Errorf("error does not name the existing customer: %v", info)
		}
	}
	if _, err := e.client.CreateCustomer(e.manager(t), &customerv1.CreateCustomerRequest{
		Customer: person("W. Wang", "wei@example.com", ""), AllowDuplicates: true,
	}); err != nil {
		t.Errorf("allow_duplicates: %v", err)
	}
}

func TestListFiltersAndPages(t *testing.T) {
	t.Parallel()
	e := start(t)
	for i := range 25 {
		c := person(fmt.Sprintf("Customer %02d", i), fmt.Sprintf("c%02d@example.com", i), "")
		if i%5 == 0 {
			c.Tags = []string{"vip"}
		}
		e.create(t, c)
	}
	ctx := e.manager(t)
	seen := map[string]bool{}
	token := ""
	pages := 0
	for {
		resp, err := e.client.ListCustomers(ctx, &customerv1.ListCustomersRequest{PageSize: 10, PageToken: token, OrderBy: "display_name"})
		if err != nil {
			t.Fatal(err)
		}
		pages++
		for _, c := range resp.GetCustomers() {
			if seen[c.GetName()] {
				t.Errorf("%s listed twice", c.GetName())
			}
			seen[c.GetName()] = true
		}
		if token = resp.GetNextPageToken(); token == "" {
			break
		}
	}
	if len(seen) != 25 || pages != 3 {
		t.Errorf("paged %d customers in %d pages, want 25 in 3", len(seen), pages)
	}

	resp, err := e.client.ListCustomers(ctx, &customerv1.ListCustomersRequest{Filter: `tags:"vip" AND lifecycle_stage = PROSPECT`})
	if err != nil {
		t.Fatal(err)
	}
	if len(resp.GetCustomers()) != 5 {
		t.Errorf("vip filter matched %d, want 5", len(resp.GetCustomers()))
	}

	first, err := e.client.ListCustomers(ctx, &customerv1.ListCustomersRequest{PageSize: 5})
	if err != nil {
		t.Fatal(err)
	}
	bad := []struct {
		name  string
		req   *customerv1.ListCustomersRequest
		field string
	}{
		{"unknown filter field", &customerv1.ListCustomersRequest{Filter: `shoe_size > 40`}, "filter"},
		{"filter type error", &customerv1.ListCustomersRequest{Filter: `loyalty_points > "many"`}, "filter"},
		{"unknown enum value", &customerv1.ListCustomersRequest{Filter: `lifecycle_stage = ASLEEP`}, "filter"},
		{"negative page size", &customerv1.ListCustomersRequest{PageSize: -1}, "page_size"},
		{"malformed token", &customerv1.ListCustomersRequest{PageToken: "garbage!"}, "page_token"},
		{"token from another query", &customerv1.ListCustomersRequest{PageSize: 5, PageToken: first.GetNextPageToken(), Filter: `tags:"vip"`}, "page_token"},
		{"bad order", &customerv1.ListCustomersRequest{OrderBy: "emails"}, "order_by"},
	}
	for _, b := range bad {
		_, err := e.client.ListCustomers(ctx, b.req)
		t.Run(b.name, func(t *testing.T) { testkit.WantCode(t, err, codes.InvalidArgument, "", b.field) })
	}
}

func TestUpdateWithMaskAndEtag(t *testing.T) {
	t.Parallel()
	e := start(t)
	c := e.create(t, person("Zhao Lei", "lei@example.com", ""))
	ctx := e.manager(t)

	upd, err := e.client.UpdateCustomer(ctx, &customerv1.UpdateCustomerRequest{
		Customer:   &customerv1.Customer{Name: c.GetName(), Title: "Buyer", DisplayName: "ignored", Etag: c.GetEtag()},
		UpdateMask: &fieldmaskpb.FieldMask{Paths: []string{"title"}},
	})
	if err != nil {
		t.Fatal(err)
	}
	got := upd.GetCustomer()
	if got.GetTitle() != "Buyer" || got.GetDisplayName() != "Zhao Lei" || got.GetEtag() == c.GetEtag() {
		t.Errorf("after update: title %q name %q etag %q (was %q)", got.GetTitle(), got.GetDisplayName(), got.GetEtag(), c.GetEtag())
	}

	_, err = e.client.UpdateCustomer(ctx, &customerv1.UpdateCustomerRequest{
		Customer:   &customerv1.Customer{Name: c.GetName(), Title: "Stale", Etag: c.GetEtag()},
		UpdateMask: &fieldmaskpb.FieldMask{Paths: []string{"title"}},
	})
	testkit.WantCode(t, err, codes.Aborted, "", "")

	for _, mask := range [][]string{{"etag"}, {"create_time"}, {"no_such_field"}, {"lifecycle_stage"}, nil} {
		_, err = e.client.UpdateCustomer(ctx, &customerv1.UpdateCustomerRequest{
			Customer:   &customerv1.Customer{Name: c.GetName(), Title: "Masked"},
			UpdateMask: &fieldmaskpb.FieldMask{Paths: mask},
		})
		testkit.WantCode(t, err, codes.InvalidArgument, "", "update_mask")
	}
	_, err = e.client.UpdateCustomer(ctx, &customerv1.UpdateCustomerRequest{
		Customer:   &customerv1.Customer{Name: c.GetName(), Emails: []string{"broken"}},
		UpdateMask: &fieldmaskpb.FieldMask{Paths: []string{"emails"}},
	})
	testkit.WantCode(t, err, codes.InvalidArgument, "", "customer.emails[0]")

	now, err := e.client.GetCustomer(ctx, &customerv1.GetCustomerRequest{Name: c.GetName()})
	if err != nil {
		t.Fatal(err)
	}
	if now.GetCustomer().GetEtag() != got.GetEtag() || now.GetCustomer().GetTitle() != "Buyer" {
		t.Errorf("rejected updates changed the customer: %v", now.GetCustomer())
	}
}

func TestSoftDeleteAndUndelete(t *testing.T) {
	t.Parallel()
	e := start(t)
	c := e.create(t, person("Sun Mei", "mei@example.com", ""))
	ctx := e.manager(t)
	del, err := e.client.DeleteCustomer(ctx, &customerv1.DeleteCustomerRequest{Name: c.GetName(), Etag: c.GetEtag()})
	if err != nil {
		t.Fatal(err)
	}
	if del.GetCustomer().GetDeleteTime() == nil {
		t.Errorf("deleted customer has no delete_time")
	}
	list, _ := e.client.ListCustomers(ctx, &customerv1.ListCustomersRequest{})
	if len(list.GetCustomers()) != 0 {
		t.Errorf("deleted customer listed")
	}
	list, _ = e.client.ListCustomers(ctx, &customerv1.ListCustomersRequest{ShowDeleted: true})
	if len(list.GetCustomers()) != 1 {
		t.Errorf("show_deleted listed %d", len(list.GetCustomers()))
	}
	_, err = e.client.DeleteCustomer(ctx, &customerv1.DeleteCustomerRequest{Name: c.GetName()})
	testkit.WantCode(t, err, codes.FailedPrecondition, "", "")
	und, err := e.client.UndeleteCustomer(ctx, &customerv1.UndeleteCustomerRequest{Name: c.GetName()})
	if err != nil {
		t.Fatal(err)
	}
	if und.GetCustomer().GetDeleteTime() != nil {
		t.Errorf("undeleted customer still has delete_time")
	}
	_, err = e.client.GetCustomer(ctx, &customerv1.GetCustomerRequest{Name: "customers/not-a-uuid"})
	testkit.WantCode(t, err, codes.InvalidArgument, "", "name")
	_, err = e.client.GetCustomer(ctx, &customerv1.GetCustomerRequest{Name: "customers/0193a9a0-0000-7000-8000-000000000000"})
	testkit.WantCode(t, err, codes.NotFound, "", "")
}

func TestSearch(t *testing.T) {
	t.Parallel()
	e := start(t)
	li := e.create(t, &customerv1.Customer{DisplayName: "Li Na", Emails: []string{"lina@teahouse.cn"}, Phones: []string{"+8613812345678"}, Company: "Hangzhou Tea House"})
	e.create(t, &customerv1.Customer{DisplayName: "Bob Stone", Company: "Stone Works"})
	for _, q := range []string{"li na", "lina@teahouse.cn", "13812345678", "Hangzou Tea"} {
		resp, err := e.client.SearchCustomers(e.manager(t), &customerv1.SearchCustomersRequest{Query: q})
		if err != nil {
			t.Fatalf("search %q: %v", q, err)
		}
		if len(resp.GetCustomers()) == 0 || resp.GetCustomers()[0].GetName() != li.GetName() {
			t.Errorf("search %q: first hit is not Li Na (%d hits)", q, len(resp.GetCustomers()))
		}
	}
	// Contacts are encrypted: found whole (by their blind index), never by
	// a part.
	if resp, err := e.client.SearchCustomers(e.manager(t), &customerv1.SearchCustomersRequest{Query: "teahouse.cn"}); err != nil || len(resp.GetCustomers()) != 0 {
		t.Errorf("search by a part of an e-mail: %d hits, %v", len(resp.GetCustomers()), err)
	}
	_, err := e.client.SearchCustomers(e.manager(t), &customerv1.SearchCustomersRequest{Query: "x"})
	testkit.WantCode(t, err, codes.InvalidArgument, "", "query")
}

func TestMergeAndDuplicates(t *testing.T) {
	t.Parallel()
	e := start(t)
	ctx := e.manager(t)
	a := e.create(t, &customerv1.Customer{DisplayName: "Chen Jie", Emails: []string{"jie@example.com"}, Company: "Acme"})
	b, err := e.client.CreateCustomer(ctx, &customerv1.CreateCustomerRequest{AllowDuplicates: true,
		Customer: &customerv1.Customer{DisplayName: "Chen Jie", Emails: []string{"jie@example.com", "cj@acme.cn"}, Company: "Acme", Title: "CTO"}})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := e.client.AdjustPoints(ctx, &customerv1.AdjustPointsRequest{Name: b.GetCustomer().GetName(), Delta: 300, Reason: "order", RequestId: "p1"}); err != nil {
		t.Fatal(err)
	}
	dups, err := e.client.FindDuplicates(ctx, &customerv1.FindDuplicatesRequest{})
	if err != nil {
		t.Fatal(err)
	}
	reasons := map[customerv1.DuplicateGroup_Reason]bool{}
	for _, g := range dups.GetGroups() {
		reasons[g.GetReason()] = true
	}
	if !reasons[customerv1.DuplicateGroup_REASON_EMAIL] || !reasons[customerv1.DuplicateGroup_REASON_NAME_AND_COMPANY] {
		t.Errorf("duplicate groups %v miss e-mail or name+company", dups.GetGroups())
	}
	// One customer's duplicates: only the groups it is in, and none for a
	// customer without any.
	loner := e.create(t, &customerv1.Customer{DisplayName: "Wang Fang", Company: "Elsewhere"})
	unrelated := e.create(t, &customerv1.Customer{DisplayName: "Zhou Min", Emails: []string{"zm@example.com"}})
	if _, err := e.client.CreateCustomer(ctx, &customerv1.CreateCustomerRequest{AllowDuplicates: true,
		Customer: &customerv1.Customer{DisplayName: "Zhou M.", Emails: []string{"zm@example.com"}}}); err != nil {
		t.Fatal(err)
	}
	mine, err := e.client.FindDuplicates(ctx, &customerv1.FindDuplicatesRequest{Customer: a.GetName()})
	if err != nil || len(mine.GetGroups()) != 2 {
		t.Fatalf("duplicates of %s: %v %v", a.GetName(), mine, err)
	}
	for _, g := range mine.GetGroups() {
		if !slices.Equal(g.GetCustomers(), []string{a.GetName(), b.GetCustomer().GetName()}) {
			t.Errorf("group of %s: %v", a.GetName(), g)
		}
	}
	if all, err := e.client.FindDuplicates(ctx, &customerv1.FindDuplicatesRequest{PageSize: 500}); err != nil || len(all.GetGroups()) != 3 {
		t.Errorf("all duplicates after adding %s: %v %v", unrelated.GetName(), all, err)
	}
	if none, err := e.client.FindDuplicates(ctx, &customerv1.FindDuplicatesRequest{Customer: loner.GetName()}); err != nil || len(none.GetGroups()) != 0 {
		t.Errorf("duplicates of a customer without any: %v %v", none, err)
	}
	_, err = e.client.FindDuplicates(ctx, &customerv1.FindDuplicatesRequest{Customer: "people/1"})
	testkit.WantCode(t, err, codes.InvalidArgument, "", "customer")

	req := &customerv1.MergeCustomersRequest{Survivor: a.GetName(), Merged: []string{b.GetCustomer().GetName()}, DryRun: true}
	dry, err := e.client.MergeCustomers(ctx, req)
	if err != nil {
		t.Fatal(err)
	}
	if dry.GetCustomer().GetTitle() != "CTO" || len(dry.GetFields()) == 0 {
		t.Errorf("dry run result: %v", dry)
	}
	if got, _ := e.client.GetCustomer(ctx, &customerv1.GetCustomerRequest{Name: b.GetCustomer().GetName()}); got.GetCustomer().GetName() != b.GetCustomer().GetName() {
		t.Errorf("dry run merged for real")
	}
	req.DryRun = false
	merged, err := e.client.MergeCustomers(ctx, req)
	if err != nil {
		t.Fatal(err)
	}
	m := merged.GetCustomer()
	if m.GetLoyaltyPoints() != 300 || len(m.GetEmails()) != 2 || len(m.GetMergedCustomers()) != 1 {
		t.Errorf("merged survivor: points %d emails %v merged %v", m.GetLoyaltyPoints(), m.GetEmails(), m.GetMergedCustomers())
	}
	old, err := e.client.GetCustomer(ctx, &customerv1.GetCustomerRequest{Name: b.GetCustomer().GetName()})
	if err != nil || old.GetCustomer().GetName() != a.GetName() {
		t.Errorf("old name resolves to %v (%v), want %s", old.GetCustomer().GetName(), err, a.GetName())
	}
	_, err = e.client.MergeCustomers(ctx, &customerv1.MergeCustomersRequest{Survivor: a.GetName(), Merged: []string{a.GetName()}})
	testkit.WantCode(t, err, codes.InvalidArgument, "", "merged[0]")
}

func TestLifecycleAndPoints(t *testing.T) {
	t.Parallel()
	e := start(t)
	ctx := e.manager(t)
	c := e.create(t, person("Liu Yang", "yang@example.com", ""))
	tr, err := e.client.TransitionLifecycleStage(ctx, &customerv1.TransitionLifecycleStageRequest{
		Name: c.GetName(), Stage: customerv1.LifecycleStage_LIFECYCLE_STAGE_FIRST_PURCHASE, Reason: "order #1",
	})
	if err != nil {
		t.Fatal(err)
	}
	if tr.GetTransition().GetFromStage() != customerv1.LifecycleStage_LIFECYCLE_STAGE_PROSPECT || tr.GetTransition().GetActor() != "mia" {
		t.Errorf("transition: %v", tr.GetTransition())
	}
	_, err = e.client.TransitionLifecycleStage(ctx, &customerv1.TransitionLifecycleStageRequest{Name: c.GetName(), Stage: customerv1.LifecycleStage_LIFECYCLE_STAGE_FIRST_PURCHASE, Reason: "again"})
	testkit.WantCode(t, err, codes.FailedPrecondition, "", "")
	_, err = e.client.TransitionLifecycleStage(ctx, &customerv1.TransitionLifecycleStageRequest{Name: c.GetName(), Stage: customerv1.LifecycleStage_LIFECYCLE_STAGE_LOYAL})
	testkit.WantCode(t, err, codes.InvalidArgument, "", "reason")
	hist, err := e.client.ListLifecycleTransitions(ctx, &customerv1.ListLifecycleTransitionsRequest{Parent: c.GetName()})
	if err != nil || len(hist.GetLifecycleTransitions()) != 1 {
		t.Fatalf("history: %v %v", hist, err)
	}

	adjust := &customerv1.AdjustPointsRequest{Name: c.GetName(), Delta: 1200, Reason: "order #1", RequestId: "points-1"}
	p1, err := e.client.AdjustPoints(ctx, adjust)
	if err != nil {
		t.Fatal(err)
	}
	p2, err := e.client.AdjustPoints(ctx, adjust)
	if err != nil {
		t.Fatal(err)
	}
	if p2.GetCustomer().GetLoyaltyPoints() != 1200 || p2.GetEntry().GetName() != p1.GetEntry().GetName() {
		t.Errorf("replayed adjustment applied twice: %d points", p2.GetCustomer().GetLoyaltyPoints())
	}
	if p1.GetCustomer().GetMembershipTier() != customerv1.MembershipTier_MEMBERSHIP_TIER_SILVER {
		t.Errorf("tier %s at 1200 points, want SILVER", p1.GetCustomer().GetMembershipTier())
	}
	_, err = e.client.AdjustPoints(ctx, &customerv1.AdjustPointsRequest{Name: c.GetName(), Delta: -5000, Reason: "redeem", RequestId: "points-2"})
	testkit.WantCode(t, err, codes.FailedPrecondition, "", "")
	_, err = e.client.AdjustPoints(ctx, &customerv1.AdjustPointsRequest{Name: c.GetName(), Delta: 5, Reason: "x"})
	testkit.WantCode(t, err, codes.InvalidArgument, "", "request_id")
	ledger, err := e.client.ListPointsLedger(ctx, &customerv1.ListPointsLedgerRequest{Parent: c.GetName()})
	if err != nil || len(ledger.GetEntries()) != 1 || ledger.GetEntries()[0].GetBalance() != 1200 {
		t.Errorf("ledger: %v %v", ledger, err)
	}
}

func TestAccessControl(t *testing.T) {
	t.Parallel()
	e := start(t)
	alice, bob := e.as(t, "alice", auth.RoleAgent), e.as(t, "bob", auth.RoleAgent)
	resp, err := e.client.CreateCustomer(alice, &customerv1.CreateCustomerRequest{Customer: person("Alice's", "own@example.com", "+8613800000001")})
	if err != nil {
		t.Fatal(err)
	}
	mine := resp.GetCustomer()
	if mine.GetAccountManager() != "alice" {
		t.Errorf("agent's new customer managed by %q", mine.GetAccountManager())
	}
	_, err = e.client.GetCustomer(bob, &customerv1.GetCustomerRequest{Name: mine.GetName()})
	testkit.WantCode(t, err, codes.NotFound, "", "")
	_, err = e.client.UpdateCustomer(bob, &customerv1.UpdateCustomerRequest{
		Customer: &customerv1.Customer{Name: mine.GetName(), Title: "hijack"}, UpdateMask: &fieldmaskpb.FieldMask{Paths: []string{"title"}},
	})
	testkit.WantCode(t, err, codes.NotFound, "", "")
	list, err := e.client.ListCustomers(bob, &customerv1.ListCustomersRequest{})
	if err != nil || len(list.GetCustomers()) != 0 {
		t.Errorf("bob lists alice's customers: %v %v", list, err)
	}

	viewer := e.as(t, "vic", auth.RoleViewer)
	seen, err := e.client.GetCustomer(viewer, &customerv1.GetCustomerRequest{Name: mine.GetName()})
	if err != nil {
		t.Fatal(err)
	}
	if seen.GetCustomer().GetEmails()[0] != "o***@example.com" || strings.Contains(seen.GetCustomer().GetPhones()[0], "0000000") {
		t.Errorf("viewer sees PII: %v %v", seen.GetCustomer().GetEmails(), seen.GetCustomer().GetPhones())
	}
	_, err = e.client.CreateCustomer(viewer, &customerv1.CreateCustomerRequest{Customer: person("V", "", "")})
	testkit.WantCode(t, err, codes.PermissionDenied, "", "")
	_, err = e.client.PurgeCustomer(e.manager(t), &customerv1.PurgeCustomerRequest{Name: mine.GetName()})
	testkit.WantCode(t, err, codes.PermissionDenied, "", "")

	noToken, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	_, err = e.client.GetCustomer(noToken, &customerv1.GetCustomerRequest{Name: mine.GetName()})
	testkit.WantCode(t, err, codes.Unauthenticated, "", "")
	signer, _ := auth.NewHS256Signer(testkit.Secret, "kehu", "kehu")
	expired, _ := signer.Sign("alice", []auth.Role{auth.RoleAdmin}, -time.Hour)
	forgedSigner, _ := auth.NewHS256Signer("another-secret-that-is-at-least-32-bytes", "kehu", "kehu")
	forged, _ := forgedSigner.Sign("alice", []auth.Role{auth.RoleAdmin}, time.Hour)
	for name, tok := range map[string]string{"expired": expired, "forged": forged, "garbage": "abc.def.ghi"} {
		ctx := metadata.AppendToOutgoingContext(noToken, "authorization", "Bearer "+tok)
		_, err = e.client.GetCustomer(ctx, &customerv1.GetCustomerRequest{Name: mine.GetName()})
		t.Run(name, func(t *testing.T) { testkit.WantCode(t, err, codes.Unauthenticated, "", "") })
	}
	if n := e.count(t); n != 1 {
		t.Errorf("%d customers after denied writes, want 1", n)
	}
}

func TestImportExport(t *testing.T) {
	t.Parallel()
	e := start(t)
	ctx := e.manager(t)
	stream, err := e.client.ImportCustomers(ctx)
	if err != nil {
		t.Fatal(err)
	}
	batch := func(cs ...*customerv1.Customer) {
		if err := stream.Send(&customerv1.ImportCustomersRequest{Customers: cs}); err != nil {
			t.Fatal(err)
		}
	}
	withExt := func(ext, name, email string) *customerv1.Customer {
		c := person(name, email, "")
		c.ExternalId = ext
		return c
	}
	batch(withExt("erp-1", "One", "one@example.com"), withExt("erp-2", "Two", "bad-email"))
	batch(withExt("", "No Ext", ""), withExt("erp-3", "Three", ""), withExt("erp-1", "One again", ""))
	res, err := stream.CloseAndRecv()
	if err != nil {
		t.Fatal(err)
	}
	if res.GetReceivedCount() != 5 || res.GetCreatedCount() != 2 || res.GetFailedCount() != 3 {
		t.Errorf("import counts: %v", res)
	}
	fields := map[int64]string{}
	for _, er := range res.GetErrors() {
		fields[er.GetRow()] = er.GetField()
	}
	if fields[1] != "customer.emails[0]" || fields[2] != "external_id" || fields[4] != "external_id" {
		t.Errorf("row errors: %v", res.GetErrors())
	}

	stream, err = e.client.ImportCustomers(ctx)
	if err != nil {
		t.Fatal(err)
	}
	batch(withExt("erp-1", "One Renamed", "one@example.com"))
	res, err = stream.CloseAndRecv()
	if err != nil || res.GetUpdatedCount() != 1 || res.GetCreatedCount() != 0 {
		t.Fatalf("re-import: %v %v", res, err)
	}

	exp, err := e.client.ExportCustomers(e.as(t, "ana", auth.RoleAnalyst), &customerv1.ExportCustomersRequest{Filter: `external_id = "erp-1"`})
	if err != nil {
		t.Fatal(err)
	}
	chunks := testkit.RecvAll(t, exp.Recv)
	if len(chunks) != 1 || len(chunks[0].GetCustomers()) != 1 {
		t.Fatalf("export chunks: %v", chunks)
	}
	got := chunks[0].GetCustomers()[0]
	if got.GetDisplayName() != "One Renamed" || got.GetEmails()[0] != "o***@example.com" {
		t.Errorf("export row (analyst, masked): %v", got)
	}
}

func TestEventsStreamAndPurge(t *testing.T) {
	t.Parallel()
	e := start(t)
	ctx := e.manager(t)
	c := e.create(t, person("Gone Soon", "gone@example.com", ""))
	if _, err := e.client.TransitionLifecycleStage(ctx, &customerv1.TransitionLifecycleStageRequest{Name: c.GetName(), Stage: customerv1.LifecycleStage_LIFECYCLE_STAGE_REPEAT, Reason: "test"}); err != nil {
		t.Fatal(err)
	}
	if _, err := e.client.PurgeCustomer(e.admin(t), &customerv1.PurgeCustomerRequest{Name: c.GetName()}); err != nil {
		t.Fatal(err)
	}
	_, err := e.client.GetCustomer(ctx, &customerv1.GetCustomerRequest{Name: c.GetName()})
	testkit.WantCode(t, err, codes.NotFound, "", "")

	svcCtx, cancel := context.WithCancel(e.as(t, "interaction", auth.RoleService))
	defer cancel()
	stream, err := e.client.StreamEvents(svcCtx, &customerv1.StreamEventsRequest{})
	if err != nil {
		t.Fatal(err)
	}
	var types []string
	var last int64
	for len(types) < 4 {
		ev, err := stream.Recv()
		if err != nil {
			t.Fatalf("after %v: %v", types, err)
		}
		if ev.GetEvent().GetSequence() <= last {
			t.Errorf("sequence %d after %d", ev.GetEvent().GetSequence(), last)
		}
		last = ev.GetEvent().GetSequence()
		types = append(types, ev.GetEvent().GetType())
		if ev.GetEvent().GetType() != "customer.purged" && ev.GetEvent().GetPayload() != nil {
			t.Errorf("%s event of a purged customer still carries its payload", ev.GetEvent().GetType())
		}
	}
	want := []string{"customer.created", "customer.stage_changed", "customer.updated", "customer.purged"}
	if strings.Join(types, ",") != strings.Join(want, ",") {
		t.Errorf("events %v, want %v", types, want)
	}
	// Managers may not follow the raw event stream: it carries unmasked data.
	denied, err := e.client.StreamEvents(ctx, &customerv1.StreamEventsRequest{})
	if err == nil {
		_, err = denied.Recv()
	}
	testkit.WantCode(t, err, codes.PermissionDenied, "", "")
}

func TestBatchAssign(t *testing.T) {
	t.Parallel()
	e := start(t)
	for i := range 3 {
		c := person(fmt.Sprintf("Lead %d", i), "", "")
		c.Tags = []string{"expo-2026"}
		e.create(t, c)
	}
	e.create(t, person("Other", "", ""))
	resp, err := e.client.BatchAssignAccountManager(e.manager(t), &customerv1.BatchAssignAccountManagerRequest{Filter: `tags:"expo-2026"`, AccountManager: "alice"})
	if err != nil || resp.GetAssignedCount() != 3 {
		t.Fatalf("batch assign: %v %v", resp, err)
	}
	list, _ := e.client.ListCustomers(e.manager(t), &customerv1.ListCustomersRequest{Filter: `account_manager = "alice"`})
	if len(list.GetCustomers()) != 3 {
		t.Errorf("%d assigned to alice", len(list.GetCustomers()))
	}
	_, err = e.client.BatchAssignAccountManager(e.manager(t), &customerv1.BatchAssignAccountManagerRequest{AccountManager: "alice"})
	testkit.WantCode(t, err, codes.InvalidArgument, "", "filter")
}

func TestRedisDownFailsOpen(t *testing.T) {
	t.Parallel()
	e := start(t, func(c *Config) { c.RedisURL = "redis://127.0.0.1:1/0" })
	c := e.create(t, person("Cache Less", "", ""))
	for range 2 {
		if _, err := e.client.GetCustomer(e.manager(t), &customerv1.GetCustomerRequest{Name: c.GetName()}); err != nil {
			t.Fatalf("GetCustomer with Redis down: %v", err)
		}
	}
	// The outage is visible to operators.
	resp, err := http.Get("http://" + e.app.AdminAddr() + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	if !regexp.MustCompile(`kehu_cache_operations_total\{op="get",result="error"\} [1-9]`).Match(body) {
		t.Errorf("no cache error metric while Redis is down:\n%s", grepLines(string(body), "kehu_cache"))
	}
}

func grepLines(s, substr string) string {
	var out []string
	for _, l := range strings.Split(s, "\n") {
		if strings.Contains(l, substr) {
			out = append(out, l)
		}
	}
	return strings.Join(out, "\n")
}
