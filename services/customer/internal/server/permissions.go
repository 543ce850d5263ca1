package server

import (
	customerv1 "github.com/kehu-crm/kehu/pkg/api/kehu/customer/v1"
	"github.com/kehu-crm/kehu/pkg/audit"
	"github.com/kehu-crm/kehu/pkg/auth"
)

// Policy is the customer service's permission table: who may call which
// method. admin may call everything, including PurgeCustomer, which no one
// else may. Finer rules apply inside the methods (see the customer
// package): agents only reach their own and unassigned customers, analysts
// and viewers see personal data masked.
var Policy = auth.NewPolicy(customerv1.CustomerService_ServiceDesc.ServiceName, map[string][]auth.Role{
	"GetCustomer":               auth.Readers,
	"BatchGetCustomers":         auth.Readers,
	"ListCustomers":             auth.Readers,
	"SearchCustomers":           auth.Readers,
	"ListLifecycleTransitions":  auth.Readers,
	"ListPointsLedger":          auth.Readers,
	"CreateCustomer":            auth.Writers,
	"UpdateCustomer":            auth.Writers,
	"TransitionLifecycleStage":  auth.Writers,
	"AdjustPoints":              auth.Writers,
	"AssignAccountManager":      auth.Writers,
	"DeleteCustomer":            auth.Staff,
	"UndeleteCustomer":          auth.Staff,
	"PurgeCustomer":             auth.AdminOnly, // erasure is irreversible
	"FindDuplicates":            auth.Managers,
	"MergeCustomers":            auth.Managers,
	"UnmergeCustomer":           auth.Managers,
	"BatchAssignAccountManager": auth.Managers,
	"ImportCustomers":           {auth.RoleManager, auth.RoleService},
	"ExportCustomers":           {auth.RoleManager, auth.RoleAnalyst, auth.RoleService},
	"StreamEvents":              auth.Services,
	// Everyone may keep views of the list they may read; a view is its
	// owner's alone (package savedview).
	"CreateSavedView": auth.Readers,
	"GetSavedView":    auth.Readers,
	"ListSavedViews":  auth.Readers,
	"UpdateSavedView": auth.Readers,
	"DeleteSavedView": auth.Readers,
})

// PersonalReads are the reads the audit trail records when an admin or a
// manager makes them (every mutation is recorded anyway). Customers carry
// e-mails, phones, birthday and street address, which analysts and viewers
// see masked (see the domain's view functions); admins and managers see it
// all.
var PersonalReads = audit.NewMethods(customerv1.CustomerService_ServiceDesc.ServiceName,
	"GetCustomer", "BatchGetCustomers", "ListCustomers", "SearchCustomers", "ExportCustomers", "FindDuplicates")
