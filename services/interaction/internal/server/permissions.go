package server

import (
	interactionv1 "github.com/kehu-crm/kehu/pkg/api/kehu/interaction/v1"
	"github.com/kehu-crm/kehu/pkg/auth"
)

var (
	readers  = []auth.Role{auth.RoleManager, auth.RoleAgent, auth.RoleAnalyst, auth.RoleViewer, auth.RoleService}
	writers  = []auth.Role{auth.RoleManager, auth.RoleAgent, auth.RoleService}
	managers = []auth.Role{auth.RoleManager}
)

func method(name string) string {
	return "/" + interactionv1.InteractionService_ServiceDesc.ServiceName + "/" + name
}

// Policy is the interaction service's permission table; admin may call
// everything. Inside the methods, agents reach only records of customers
// they manage or that are unassigned, plus records they handle themselves;
// analysts and viewers never see message bodies.
var Policy = auth.Policy{
	method("CreateInteraction"):       writers,
	method("BatchCreateInteractions"): writers,
	method("GetInteraction"):          readers,
	method("ListInteractions"):        readers,
	method("UpdateInteraction"):       writers,
	method("DeleteInteraction"):       {auth.RoleManager, auth.RoleAgent},
	method("UndeleteInteraction"):     {auth.RoleManager, auth.RoleAgent},
	method("CreateFollowUp"):          writers,
	method("GetFollowUp"):             readers,
	method("ListFollowUps"):           readers,
	method("UpdateFollowUp"):          writers,
	method("CompleteFollowUp"):        writers,
	method("CancelFollowUp"):          writers,
	method("CreateCareRule"):          managers,
	method("GetCareRule"):             readers,
	method("ListCareRules"):           readers,
	method("UpdateCareRule"):          managers,
	method("DeleteCareRule"):          managers,
	method("CreateTouchpoint"):        managers,
	method("GetTouchpoint"):           readers,
	method("ListTouchpoints"):         readers,
	method("UpdateTouchpoint"):        managers,
	method("DeleteTouchpoint"):        managers,
	method("StreamEvents"):            {auth.RoleService},
}
