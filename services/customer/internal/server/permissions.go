package server

import (
	customerv1 "github.com/kehu-crm/kehu/pkg/api/kehu/customer/v1"
	"github.com/kehu-crm/kehu/pkg/auth"
)

// Role sets used by the permission table.
var (
	readers  = []auth.Role{auth.RoleManager, auth.RoleAgent, auth.RoleAnalyst, auth.RoleViewer, auth.RoleService}
	writers  = []auth.Role{auth.RoleManager, auth.RoleAgent, auth.RoleService}
	managers = []auth.Role{auth.RoleManager}
)

func method(name string) string {
	return "/" + customerv1.CustomerService_ServiceDesc.ServiceName + "/" + name
}

// Policy is the customer service's permission table: who may call which
// method. admin may call everything, including PurgeCustomer, which no one
// else may. Finer rules apply inside the methods (see the customer
// package): agents only reach their own and unassigned customers, analysts
// and viewers see personal data masked.
var Policy = auth.Policy{
	method("GetCustomer"):               readers,
	method("BatchGetCustomers"):         readers,
	method("ListCustomers"):             readers,
	method("SearchCustomers"):           readers,
	method("ListLifecycleTransitions"):  readers,
	method("ListPointsLedger"):          readers,
	method("CreateCustomer"):            writers,
	method("UpdateCustomer"):            writers,
	method("TransitionLifecycleStage"):  writers,
	method("AdjustPoints"):              writers,
	method("AssignAccountManager"):      writers,
	method("DeleteCustomer"):            {auth.RoleManager, auth.RoleAgent},
	method("UndeleteCustomer"):          {auth.RoleManager, auth.RoleAgent},
	method("PurgeCustomer"):             nil, // admin only: erasure is irreversible
	method("FindDuplicates"):            managers,
	method("MergeCustomers"):            managers,
	method("BatchAssignAccountManager"): managers,
	method("ImportCustomers"):           {auth.RoleManager, auth.RoleService},
	method("ExportCustomers"):           {auth.RoleManager, auth.RoleAnalyst, auth.RoleService},
	method("StreamEvents"):              {auth.RoleService},
}
