package server

import (
	sdv1 "github.com/kehu-crm/kehu/pkg/api/kehu/servicedesk/v1"
	"github.com/kehu-crm/kehu/pkg/audit"
	"github.com/kehu-crm/kehu/pkg/auth"
)

// Policy is the service desk's permission table; admin may call
// everything. Inside the methods, agents reach only the tickets assigned
// to them, opened by them or waiting in their queues; analysts and viewers
// never see descriptions, resolutions or comment bodies.
var Policy = auth.NewPolicy(sdv1.ServiceDeskService_ServiceDesc.ServiceName, map[string][]auth.Role{
	"CreateTicket":      auth.Writers,
	"GetTicket":         auth.Readers,
	"ListTickets":       auth.Readers,
	"UpdateTicket":      auth.Writers,
	"AssignTicket":      auth.Writers,
	"TransitionTicket":  auth.Writers,
	"EscalateTicket":    auth.Writers,
	"DeleteTicket":      auth.Staff,
	"UndeleteTicket":    auth.Staff,
	"ListTicketChanges": auth.Readers,
	"GetSlaStatus":      auth.Readers,
	"CreateComment":     auth.Writers,
	"ListComments":      auth.Readers,
	"CreateQueue":       auth.Managers,
	"GetQueue":          auth.Readers,
	"ListQueues":        auth.Readers,
	"UpdateQueue":       auth.Managers,
	"DeleteQueue":       auth.Managers,
	"CreateSlaPolicy":   auth.Managers,
	"GetSlaPolicy":      auth.Readers,
	"ListSlaPolicies":   auth.Readers,
	"UpdateSlaPolicy":   auth.Managers,
	"DeleteSlaPolicy":   auth.Managers,
	"GetQueueStats":     auth.Readers,
	"GetSurvey":         auth.Readers,
	"ListSurveys":       auth.Readers,
	// The survey link's token authorises these (see desk.AnswerSurvey).
	"GetPublicSurvey": auth.Anyone,
	"AnswerSurvey":    auth.Anyone,
	"StreamEvents":    auth.Services,
})

// PersonalReads are the reads the audit trail records when an admin or a
// manager makes them (every mutation is recorded anyway). Tickets carry what
// the customer wrote and what was answered, comments their bodies, surveys
// the customer's comment, which analysts and viewers see masked (see the
// domain's view functions); admins and managers see it all.
var PersonalReads = audit.NewMethods(sdv1.ServiceDeskService_ServiceDesc.ServiceName,
	"GetTicket", "ListTickets", "ListComments", "GetSurvey", "ListSurveys")
