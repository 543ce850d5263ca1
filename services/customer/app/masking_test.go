package app

import (
	"strings"
	"testing"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	customerv1 "github.com/kehu-crm/kehu/pkg/api/kehu/customer/v1"
	"github.com/kehu-crm/kehu/pkg/auth"
	"github.com/kehu-crm/kehu/pkg/testkit"
)

// Masked callers cannot recover masked data by filtering, searching or
// exporting on it: the fields are unknown to them, and search matches only
// what they see.
func TestMaskedFieldsNotQueryable(t *testing.T) {
	t.Parallel()
	e := start(t)
	c := person("Ceo Li", "ceo@acme.com", "+8613912345678")
	c.Birthday = "1980-05-17"
	e.create(t, c)

	for _, role := range []auth.Role{auth.RoleViewer, auth.RoleAnalyst} {
		ctx := e.as(t, "someone", role)
		for _, f := range []string{`email = "ceo@acme.com"`, `phone:"+8613912345678"`, `birthday:"-05-17"`, `birthday > "1980-01-01"`} {
			_, err := e.client.ListCustomers(ctx, &customerv1.ListCustomersRequest{Filter: f})
			testkit.WantCode(t, err, codes.InvalidArgument, "", "filter")
			if role != auth.RoleAnalyst {
				continue // only analysts among masked roles may export
			}
			stream, err := e.client.ExportCustomers(ctx, &customerv1.ExportCustomersRequest{Filter: f})
			if err == nil {
				_, err = stream.Recv()
			}
			testkit.WantCode(t, err, codes.InvalidArgument, "", "filter")
		}
		for _, q := range []string{"ceo@acme.com", "13912345678"} {
			resp, err := e.client.SearchCustomers(ctx, &customerv1.SearchCustomersRequest{Query: q})
			if err != nil {
				t.Fatal(err)
			}
			if n := len(resp.GetCustomers()); n != 0 {
				t.Errorf("%s searching %q finds %d customers through masked contacts", role, q, n)
			}
		}
		if resp, err := e.client.SearchCustomers(ctx, &customerv1.SearchCustomersRequest{Query: "ceo li"}); err != nil || len(resp.GetCustomers()) != 1 {
			t.Errorf("%s searching by name: %v %v", role, resp, err)
		}
	}
	// Unmasked callers filter on contacts (by their blind index, in any
	// case); the birthday is encrypted without an index and cannot be
	// filtered on by anyone, which the error says.
	resp, err := e.client.ListCustomers(e.manager(t), &customerv1.ListCustomersRequest{Filter: `email = "CEO@acme.com" AND phone = "+8613912345678"`})
	if err != nil || len(resp.GetCustomers()) != 1 {
		t.Errorf("manager filter on contacts: %v %v", resp, err)
	}
	for _, f := range []string{`birthday:"-05-17"`, `birthday > "1980-01-01"`} {
		_, err = e.client.ListCustomers(e.manager(t), &customerv1.ListCustomersRequest{Filter: f})
		testkit.WantCode(t, err, codes.InvalidArgument, "", "filter")
		if !strings.Contains(status.Convert(err).Message(), `"birthday" is encrypted`) {
			t.Errorf("manager filter %s: %v; want it to say the birthday is encrypted", f, err)
		}
	}
	found, err := e.client.SearchCustomers(e.manager(t), &customerv1.SearchCustomersRequest{Query: "ceo@acme.com"})
	if err != nil || len(found.GetCustomers()) != 1 {
		t.Errorf("manager search by e-mail: %v %v", found, err)
	}
}
