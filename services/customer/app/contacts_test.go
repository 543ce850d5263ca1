package app

import (
	"strings"
	"sync"
	"testing"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/types/known/fieldmaskpb"

	customerv1 "github.com/kehu-crm/kehu/pkg/api/kehu/customer/v1"
	"github.com/kehu-crm/kehu/pkg/auth"
	"github.com/kehu-crm/kehu/pkg/testkit"
)

// Concurrent creates with one e-mail: the database lets exactly one win.
func TestConcurrentCreatesShareNoContact(t *testing.T) {
	t.Parallel()
	e := start(t)
	const n = 12
	var (
		wg             sync.WaitGroup
		mu             sync.Mutex
		created, dupes int
	)
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			c := person("Racer", "race@example.com", "")
			if i%2 == 1 {
				c = person("Racer", "", "+8613911112222")
				c.Emails = []string{"race@example.com"}
			}
			_, err := e.client.CreateCustomer(e.manager(t), &customerv1.CreateCustomerRequest{Customer: c})
			mu.Lock()
			defer mu.Unlock()
			switch status.Code(err) {
			case codes.OK:
				created++
			case codes.AlreadyExists:
				dupes++
			default:
				t.Errorf("CreateCustomer: %v", err)
			}
		}()
	}
	wg.Wait()
	if created != 1 || dupes != n-1 {
		t.Errorf("%d concurrent creates with one e-mail: %d created, %d refused; want 1 and %d", n, created, dupes, n-1)
	}
}

// An agent who cannot see the customer holding a contact learns that the
// contact is taken, not whose customer has it.
func TestDuplicateNamesOnlyVisibleCustomer(t *testing.T) {
	t.Parallel()
	e := start(t)
	alice, bob := e.as(t, "alice", auth.RoleAgent), e.as(t, "bob", auth.RoleAgent)
	resp, err := e.client.CreateCustomer(alice, &customerv1.CreateCustomerRequest{Customer: person("Alice's", "vip@example.com", "")})
	if err != nil {
		t.Fatal(err)
	}
	owner := resp.GetCustomer().GetName()

	_, err = e.client.CreateCustomer(bob, &customerv1.CreateCustomerRequest{Customer: person("Bob's", "vip@example.com", "")})
	st := testkit.WantCode(t, err, codes.AlreadyExists, "DUPLICATE_CUSTOMER", "")
	if strings.Contains(st.Message(), owner) || testkit.ErrorInfo(st).GetMetadata()["existing_customer"] != "" {
		t.Errorf("bob learns alice's customer %s: %q %v", owner, st.Message(), testkit.ErrorInfo(st).GetMetadata())
	}
	// The same holds for an update that adds the contact.
	mine, err := e.client.CreateCustomer(bob, &customerv1.CreateCustomerRequest{Customer: person("Bob's", "bob@example.com", "")})
	if err != nil {
		t.Fatal(err)
	}
	_, err = e.client.UpdateCustomer(bob, &customerv1.UpdateCustomerRequest{
		Customer:   &customerv1.Customer{Name: mine.GetCustomer().GetName(), Emails: []string{"bob@example.com", "vip@example.com"}},
		UpdateMask: &fieldmaskpb.FieldMask{Paths: []string{"emails"}},
	})
	st = testkit.WantCode(t, err, codes.AlreadyExists, "DUPLICATE_CUSTOMER", "")
	if strings.Contains(st.Message(), owner) {
		t.Errorf("update tells bob about %s: %q", owner, st.Message())
	}
	// Alice, who sees her customer, is told which one it is.
	_, err = e.client.CreateCustomer(alice, &customerv1.CreateCustomerRequest{Customer: person("Again", "vip@example.com", "")})
	st = testkit.WantCode(t, err, codes.AlreadyExists, "DUPLICATE_CUSTOMER", "")
	if testkit.ErrorInfo(st).GetMetadata()["existing_customer"] != owner {
		t.Errorf("alice is not told her own customer holds the contact: %v", testkit.ErrorInfo(st).GetMetadata())
	}
}

// A contact stays owned while any live customer lists it: deleting or
// purging the owner passes it to a customer created with allow_duplicates,
// and removing it from the owner by update frees it.
func TestContactOwnershipFollowsTheRecords(t *testing.T) {
	t.Parallel()
	e := start(t)
	ctx := e.manager(t)
	create := func(c *customerv1.Customer, allow bool) (*customerv1.Customer, error) {
		resp, err := e.client.CreateCustomer(ctx, &customerv1.CreateCustomerRequest{Customer: c, AllowDuplicates: allow})
		return resp.GetCustomer(), err
	}
	a := e.create(t, person("First", "shared@example.com", ""))
	b, err := create(person("Second", "shared@example.com", ""), true)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := e.client.DeleteCustomer(ctx, &customerv1.DeleteCustomerRequest{Name: a.GetName()}); err != nil {
		t.Fatal(err)
	}
	_, err = create(person("Third", "shared@example.com", ""), false)
	st := testkit.WantCode(t, err, codes.AlreadyExists, "DUPLICATE_CUSTOMER", "")
	if testkit.ErrorInfo(st).GetMetadata()["existing_customer"] != b.GetName() {
		t.Errorf("after the owner's delete the contact should pass to %s: %v", b.GetName(), testkit.ErrorInfo(st).GetMetadata())
	}
	// Restoring the first customer shares the contact rather than failing.
	if _, err := e.client.UndeleteCustomer(ctx, &customerv1.UndeleteCustomerRequest{Name: a.GetName()}); err != nil {
		t.Fatalf("undelete of a customer whose contact passed on: %v", err)
	}
	for _, c := range []*customerv1.Customer{a, b} {
		if _, err := e.client.PurgeCustomer(e.admin(t), &customerv1.PurgeCustomerRequest{Name: c.GetName()}); err != nil {
			t.Fatal(err)
		}
	}
	c, err := create(person("Fourth", "shared@example.com", "+8613900002222"), false)
	if err != nil {
		t.Fatalf("contact still taken after every holder was purged: %v", err)
	}
	if _, err := e.client.UpdateCustomer(ctx, &customerv1.UpdateCustomerRequest{
		Customer:   &customerv1.Customer{Name: c.GetName(), Emails: []string{"other@example.com"}},
		UpdateMask: &fieldmaskpb.FieldMask{Paths: []string{"emails"}},
	}); err != nil {
		t.Fatal(err)
	}
	if _, err := create(person("Fifth", "shared@example.com", ""), false); err != nil {
		t.Errorf("contact removed by update is still taken: %v", err)
	}
	_, err = create(person("Sixth", "", "13900002222"), false)
	testkit.WantCode(t, err, codes.AlreadyExists, "DUPLICATE_CUSTOMER", "")
}

// Import applies the same rule per row: a row whose contact belongs to
// another customer, or repeats an earlier row's, fails alone.
func TestImportRefusesTakenContactsPerRow(t *testing.T) {
	t.Parallel()
	e := start(t)
	e.create(t, person("Existing", "taken@example.com", ""))
	stream, err := e.client.ImportCustomers(e.manager(t))
	if err != nil {
		t.Fatal(err)
	}
	row := func(ext, email string) *customerv1.Customer {
		c := person("Imported "+ext, email, "")
		c.ExternalId = ext
		return c
	}
	if err := stream.Send(&customerv1.ImportCustomersRequest{Customers: []*customerv1.Customer{
		row("erp-1", "taken@example.com"), row("erp-2", "new@example.com"), row("erp-3", "new@example.com"), row("erp-4", "fine@example.com"),
	}}); err != nil {
		t.Fatal(err)
	}
	res, err := stream.CloseAndRecv()
	if err != nil {
		t.Fatal(err)
	}
	if res.GetCreatedCount() != 2 || res.GetFailedCount() != 2 {
		t.Fatalf("import: %v; want 2 created (erp-2, erp-4), 2 failed", res)
	}
	failed := map[string]string{}
	for _, er := range res.GetErrors() {
		failed[er.GetExternalId()] = er.GetField() + ": " + er.GetDescription()
	}
	if !strings.HasPrefix(failed["erp-1"], "customer.emails") || !strings.Contains(failed["erp-3"], "row 1") {
		t.Errorf("row errors %v", failed)
	}
	// The imported contacts are owned like any other.
	_, err = e.client.CreateCustomer(e.manager(t), &customerv1.CreateCustomerRequest{Customer: person("Late", "fine@example.com", "")})
	testkit.WantCode(t, err, codes.AlreadyExists, "DUPLICATE_CUSTOMER", "")
}
