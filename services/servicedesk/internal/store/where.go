package store

import "github.com/kehu-crm/kehu/pkg/filter"

// slaState is a ticket's SLA state as SQL, now: BREACHED if either clock passed its target, MET once both
// stopped within them, PAUSED while waiting for the customer, ON_TRACK
// while running, NONE without a policy.
const slaState = `CASE
	WHEN t.sla_policy_id IS NULL THEN 'NONE'
	WHEN t.fr_elapsed_ms > t.fr_target_ms OR t.res_elapsed_ms > t.res_target_ms
	  OR t.fr_due <= now() OR t.res_due <= now() THEN 'BREACHED'
	WHEN t.res_stop IS NOT NULL THEN 'MET'
	WHEN t.res_since IS NULL THEN 'PAUSED'
	ELSE 'ON_TRACK' END`

// ticketFields is the allow-list of ListTickets filters.
var ticketFields = filter.Schema{
	"status":                  {Column: "t.status", Type: filter.Enum, Enum: filter.EnumValues("STATUS_", "NEW", "OPEN", "PENDING_CUSTOMER", "RESOLVED", "CLOSED")},
	"type":                    {Column: "t.type", Type: filter.Enum, Enum: filter.EnumValues("TICKET_TYPE_", "INQUIRY", "COMPLAINT", "AFTER_SALES", "TECHNICAL_SUPPORT", "FEEDBACK")},
	"priority":                {Column: "t.priority", Type: filter.Enum, Enum: filter.EnumValues("PRIORITY_", "LOW", "NORMAL", "HIGH", "URGENT")},
	"channel":                 {Column: "t.channel", Type: filter.Enum, Enum: filter.EnumValues("CHANNEL_", "HOTLINE", "EMAIL", "ONLINE_CHAT", "WEB_FORM", "SOCIAL_MEDIA", "IN_PERSON")},
	"value_tier":              {Column: "t.value_tier", Type: filter.Enum, Enum: filter.EnumValues("VALUE_TIER_", "A", "B", "C")},
	"queue":                   {Column: "coalesce('queues/' || t.queue_id, '')", Type: filter.String},
	"assignee":                {Column: "t.assignee", Type: filter.String},
	"customer":                {Column: "'customers/' || t.customer_id::text", Type: filter.String},
	"escalation_level":        {Column: "t.escalation_level", Type: filter.Int},
	"tags":                    {Column: "t.tags", Type: filter.StringArray},
	"sla_policy":              {Column: "coalesce('slaPolicies/' || t.sla_policy_id, '')", Type: filter.String},
	"sla_state":               {Column: slaState, Type: filter.Enum, Enum: filter.EnumValues("SLA_STATE_", "NONE", "ON_TRACK", "PAUSED", "MET", "BREACHED")},
	"create_time":             {Column: "t.create_time", Type: filter.Timestamp},
	"update_time":             {Column: "t.update_time", Type: filter.Timestamp},
	"resolve_time":            {Column: "t.resolve_time", Type: filter.Timestamp},
	"first_response.due_time": {Column: "t.fr_due", Type: filter.Timestamp},
	"resolution.due_time":     {Column: "t.res_due", Type: filter.Timestamp},
}

// surveyFields is the allow-list of ListSurveys filters.
var surveyFields = filter.Schema{
	"ticket":     {Column: "'tickets/' || v.ticket_id::text", Type: filter.String},
	"customer":   {Column: "'customers/' || v.customer_id::text", Type: filter.String},
	"kind":       {Column: "v.kind", Type: filter.Enum, Enum: filter.EnumValues("SURVEY_KIND_", "CSAT", "NPS")},
	"state":      {Column: "CASE WHEN v.state = 'ISSUED' AND v.expire_time <= now() THEN 'EXPIRED' ELSE v.state END", Type: filter.Enum, Enum: filter.EnumValues("SURVEY_STATE_", "ISSUED", "ANSWERED", "EXPIRED")},
	"score":      {Column: "v.score", Type: filter.Int},
	"issue_time": {Column: "v.issue_time", Type: filter.Timestamp},
}
