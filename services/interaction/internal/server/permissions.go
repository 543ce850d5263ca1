package server

import (
	interactionv1 "github.com/kehu-crm/kehu/pkg/api/kehu/interaction/v1"
	"github.com/kehu-crm/kehu/pkg/audit"
	"github.com/kehu-crm/kehu/pkg/auth"
)

// Policy is the interaction service's permission table; admin may call
// everything. Inside the methods, agents reach only records of customers
// they manage or that are unassigned, plus records they handle themselves;
// analysts and viewers never see message bodies.
var Policy = auth.NewPolicy(interactionv1.InteractionService_ServiceDesc.ServiceName, map[string][]auth.Role{
	"CreateInteraction":       auth.Writers,
	"BatchCreateInteractions": auth.Writers,
	"ImportInteractions":      {auth.RoleManager, auth.RoleService},
	"GetInteraction":          auth.Readers,
	"ListInteractions":        auth.Readers,
	"UpdateInteraction":       auth.Writers,
	"DeleteInteraction":       auth.Staff,
	"UndeleteInteraction":     auth.Staff,
	"CreateFollowUp":          auth.Writers,
	"GetFollowUp":             auth.Readers,
	"ListFollowUps":           auth.Readers,
	"UpdateFollowUp":          auth.Writers,
	"CompleteFollowUp":        auth.Writers,
	"CancelFollowUp":          auth.Writers,
	"CreateCareRule":          auth.Managers,
	"GetCareRule":             auth.Readers,
	"ListCareRules":           auth.Readers,
	"UpdateCareRule":          auth.Managers,
	"DeleteCareRule":          auth.Managers,
	"CreateTouchpoint":        auth.Managers,
	"GetTouchpoint":           auth.Readers,
	"ListTouchpoints":         auth.Readers,
	"UpdateTouchpoint":        auth.Managers,
	"DeleteTouchpoint":        auth.Managers,
	"StreamEvents":            auth.Services,
})

// PersonalReads are the reads the audit trail records when an admin or a
// manager makes them (every mutation is recorded anyway). Interactions carry
// summaries and order references, follow-ups their messages, which analysts
// and viewers see masked (see the domain's view functions); admins and
// managers see it all.
var PersonalReads = audit.NewMethods(interactionv1.InteractionService_ServiceDesc.ServiceName,
	"GetInteraction", "ListInteractions", "GetFollowUp", "ListFollowUps")
