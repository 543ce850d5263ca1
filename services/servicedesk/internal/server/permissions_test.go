package server

import (
	"testing"

	sdv1 "github.com/kehu-crm/kehu/pkg/api/kehu/servicedesk/v1"
	"github.com/kehu-crm/kehu/pkg/testkit"
)

func TestPolicyNamesEveryMethod(t *testing.T) {
	testkit.CheckPolicy(t, sdv1.ServiceDeskService_ServiceDesc, Policy)
}
