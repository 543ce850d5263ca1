package server

import (
	"testing"

	customerv1 "github.com/kehu-crm/kehu/pkg/api/kehu/customer/v1"
	"github.com/kehu-crm/kehu/pkg/testkit"
)

func TestPolicyNamesEveryMethod(t *testing.T) {
	testkit.CheckPolicy(t, customerv1.CustomerService_ServiceDesc, Policy)
}
