package app

import (
	"testing"

	"google.golang.org/grpc/codes"

	customerv1 "github.com/kehu-crm/kehu/pkg/api/kehu/customer/v1"
	sdv1 "github.com/kehu-crm/kehu/pkg/api/kehu/servicedesk/v1"
	"github.com/kehu-crm/kehu/pkg/auth"
	"github.com/kehu-crm/kehu/pkg/testkit"
)

// Tickets follow their customer: a merge re-points them to the survivor,
// an unmerge brings back exactly the merged customer's, and a purge erases
// them.
func TestTicketsFollowCustomerMergesAndPurges(t *testing.T) {
	t.Parallel()
	e := start(t)
	mgr := e.manager(t)
	survivor := e.customer(t, &customerv1.Customer{DisplayName: "Li Na"})
	merged := e.customer(t, &customerv1.Customer{DisplayName: "Li Na (old)"})
	own := must[*sdv1.CreateTicketResponse](t)(e.desk.CreateTicket(mgr, &sdv1.CreateTicketRequest{Ticket: inquiry(survivor, "Survivor's")})).GetTicket()
	moved := must[*sdv1.CreateTicketResponse](t)(e.desk.CreateTicket(mgr, &sdv1.CreateTicketRequest{Ticket: inquiry(merged, "Merged one's")})).GetTicket()

	customerOf := func(name string) string {
		t.Helper()
		return mustGet(t, e, mgr, name).GetCustomer()
	}
	if _, err := e.customers.MergeCustomers(mgr, &customerv1.MergeCustomersRequest{Survivor: survivor, Merged: []string{merged}}); err != nil {
		t.Fatal(err)
	}
	testkit.Eventually(t, "ticket moved to the survivor", func() bool { return customerOf(moved.GetName()) == survivor })
	if _, err := e.customers.UnmergeCustomer(mgr, &customerv1.UnmergeCustomerRequest{Name: merged}); err != nil {
		t.Fatal(err)
	}
	testkit.Eventually(t, "ticket moved back", func() bool { return customerOf(moved.GetName()) == merged })
	if got := customerOf(own.GetName()); got != survivor {
		t.Errorf("the survivor's own ticket went to %s", got)
	}

	if _, err := e.customers.PurgeCustomer(e.as(t, "root", auth.RoleAdmin), &customerv1.PurgeCustomerRequest{Name: merged}); err != nil {
		t.Fatal(err)
	}
	testkit.Eventually(t, "purged customer's ticket erased", func() bool {
		_, err := e.desk.GetTicket(mgr, &sdv1.GetTicketRequest{Name: moved.GetName()})
		return err != nil
	})
	_, err := e.desk.GetTicket(mgr, &sdv1.GetTicketRequest{Name: moved.GetName()})
	testkit.WantCode(t, err, codes.NotFound, "", "")
}
