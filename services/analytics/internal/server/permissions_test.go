package server

import (
	"testing"

	analyticsv1 "github.com/kehu-crm/kehu/pkg/api/kehu/analytics/v1"
	"github.com/kehu-crm/kehu/pkg/testkit"
)

func TestPolicyNamesEveryMethod(t *testing.T) {
	testkit.CheckPolicy(t, analyticsv1.AnalyticsService_ServiceDesc, Policy)
}
