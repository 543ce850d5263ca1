package server

import (
	analyticsv1 "github.com/kehu-crm/kehu/pkg/api/kehu/analytics/v1"
	"github.com/kehu-crm/kehu/pkg/audit"
	"github.com/kehu-crm/kehu/pkg/auth"
)

// Policy is the analytics service's permission table; admin may call
// everything. Inside, agents reach the insights of the customers they
// manage and the unassigned pool only.
var Policy = auth.NewPolicy(analyticsv1.AnalyticsService_ServiceDesc.ServiceName, map[string][]auth.Role{
	"GetCustomerInsights":      auth.Readers,
	"RecomputeAll":             auth.AdminOnly,
	"ListAtRiskCustomers":      auth.Readers,
	"CreateSegment":            auth.Managers,
	"GetSegment":               auth.Readers,
	"ListSegments":             auth.Readers,
	"UpdateSegment":            auth.Managers,
	"DeleteSegment":            auth.Managers,
	"GetCustomerSegments":      auth.Readers,
	"CheckMembership":          auth.Readers,
	"ListSegmentMembers":       auth.Readers,
	"BatchGetCustomerSegments": auth.Readers,
	"BatchCheckMembership":     auth.Readers,
	"ListSegmentSizes":         auth.Readers,
	"GetValueDistribution":     auth.Readers,
	"GetRfmGrid":               auth.Readers,
	"GetCohortRetention":       auth.Readers,
	"GetJourneyMap":            auth.Readers,
	"GetServiceKpis":           auth.Readers,
	"GetLifecycleFunnel":       auth.Readers,
	"GetCareAndFollowUp":       auth.Readers,
	"CreateReport":             reportAuthors,
	"GetReport":                reportAuthors,
	"ListReports":              reportAuthors,
	"DeleteReport":             reportAuthors,
	"RunReport":                reportAuthors,
	"StreamEvents":             auth.Services,
})

// reportAuthors keep the team's saved reports: managers and analysts.
var reportAuthors = []auth.Role{auth.RoleManager, auth.RoleAnalyst}

// PersonalReads are the reads the audit trail records when an admin or a
// manager makes them (every mutation is recorded anyway). A customer's
// membership of personal segments is personal data, which analysts and
// viewers do not see (see the domain's view functions); admins and managers
// see it all.
var PersonalReads = audit.NewMethods(analyticsv1.AnalyticsService_ServiceDesc.ServiceName,
	"GetCustomerSegments", "BatchGetCustomerSegments", "ListSegmentMembers")
