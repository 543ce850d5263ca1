package server

import (
	"testing"

	interactionv1 "github.com/kehu-crm/kehu/pkg/api/kehu/interaction/v1"
	"github.com/kehu-crm/kehu/pkg/testkit"
)

func TestPolicyNamesEveryMethod(t *testing.T) {
	testkit.CheckPolicy(t, interactionv1.InteractionService_ServiceDesc, Policy)
}
