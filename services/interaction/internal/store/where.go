package store

import (
	"fmt"

	"github.com/kehu-crm/kehu/pkg/filter"
)

var (
	channels = filter.EnumValues("CHANNEL_", "PHONE", "EMAIL", "MEETING", "SOCIAL_MEDIA", "CHAT", "SMS", "WEBSITE", "EVENT", "OTHER")
	stages   = filter.EnumValues("LIFECYCLE_STAGE_", "PROSPECT", "FIRST_PURCHASE", "REPEAT", "LOYAL", "AT_RISK", "CHURNED")
)

// customerRef makes "customer = customers/{id}" filterable.
const customerRef = `'customers/' || %s.customer_id::text`

// interactionFields is the allow-list of ListInteractions filters.
var interactionFields = filter.Schema{
	"customer":           {Column: fmt.Sprintf(customerRef, "i"), Type: filter.String},
	"channel":            {Column: "i.channel", Type: filter.Enum, Enum: channels},
	"direction":          {Column: "i.direction", Type: filter.Enum, Enum: filter.EnumValues("DIRECTION_", "INBOUND", "OUTBOUND")},
	"kind":               {Column: "i.kind", Type: filter.Enum, Enum: filter.EnumValues("INTERACTION_KIND_", "CONTACT", "FOLLOW_UP_VISIT", "CARE_GREETING", "PURCHASE", "REFUND", "FEEDBACK", "COMPLAINT_MENTION", "NOTE")},
	"agent":              {Column: "i.agent", Type: filter.String},
	"touchpoint":         {Column: "coalesce('touchpoints/' || i.touchpoint_id, '')", Type: filter.String},
	"occur_time":         {Column: "i.occur_time", Type: filter.Timestamp},
	"create_time":        {Column: "i.create_time", Type: filter.Timestamp},
	"amount":             {Column: "i.amount", Type: filter.Decimal},
	"currency_code":      {Column: "i.currency_code", Type: filter.String},
	"satisfaction":       {Column: "i.satisfaction", Type: filter.Int},
	"sentiment":          {Column: "i.sentiment", Type: filter.Enum, Enum: filter.EnumValues("SENTIMENT_", "POSITIVE", "NEUTRAL", "NEGATIVE")},
	"lifecycle_stage":    {Column: "i.lifecycle_stage", Type: filter.Enum, Enum: stages},
	"product_categories": {Column: "i.product_categories", Type: filter.StringArray},
	"order_reference":    {Column: "i.order_reference", Type: filter.String},
}

// followUpFields is the allow-list of ListFollowUps filters.
var followUpFields = filter.Schema{
	"customer":  {Column: fmt.Sprintf(customerRef, "f"), Type: filter.String},
	"assignee":  {Column: "f.assignee", Type: filter.String},
	"state":     {Column: "f.state", Type: filter.Enum, Enum: filter.EnumValues("STATE_", "PLANNED", "COMPLETED", "MISSED", "CANCELLED")},
	"channel":   {Column: "f.channel", Type: filter.Enum, Enum: channels},
	"due_time":  {Column: "f.due_time", Type: filter.Timestamp},
	"care_rule": {Column: "coalesce('careRules/' || f.care_rule_id, '')", Type: filter.String},
}

// customerFields is the allow-list of care rules' customer filters, over
// the projection of customers.
var customerFields = filter.Schema{
	"kind":            {Column: "c.kind", Type: filter.Enum, Enum: filter.EnumValues("KIND_", "PERSON", "ORGANIZATION")},
	"source":          {Column: "c.source", Type: filter.Enum, Enum: filter.EnumValues("SOURCE_CHANNEL_", "MARKET_RESEARCH", "WEBSITE", "REFERRAL", "SALES_TEAM", "SOCIAL_MEDIA", "EVENT", "IMPORT", "OTHER")},
	"lifecycle_stage": {Column: "c.lifecycle_stage", Type: filter.Enum, Enum: stages},
	"value_tier":      {Column: "c.value_tier", Type: filter.Enum, Enum: filter.EnumValues("VALUE_TIER_", "A", "B", "C")},
	"account_manager": {Column: "c.account_manager", Type: filter.String},
	"tags":            {Column: "c.tags", Type: filter.StringArray},
}
