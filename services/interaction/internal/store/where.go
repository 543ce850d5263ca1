package store

import (
	"fmt"
	"strings"

	"github.com/kehu-crm/kehu/pkg/filter"
)

// enumValues accepts the short ("PHONE") and the full proto name
// ("CHANNEL_PHONE") of each stored value.
func enumValues(prefix string, values ...string) func(string) (string, bool) {
	return func(lit string) (string, bool) {
		lit = strings.TrimPrefix(strings.ToUpper(lit), prefix)
		for _, v := range values {
			if v == lit {
				return lit, true
			}
		}
		return "", false
	}
}

var (
	channels = enumValues("CHANNEL_", "PHONE", "EMAIL", "MEETING", "SOCIAL_MEDIA", "CHAT", "SMS", "WEBSITE", "EVENT", "OTHER")
	stages   = enumValues("LIFECYCLE_STAGE_", "PROSPECT", "FIRST_PURCHASE", "REPEAT", "LOYAL", "AT_RISK", "CHURNED")
)

// customerRef makes "customer = customers/{id}" filterable.
const customerRef = `'customers/' || %s.customer_id::text`

// interactionFields is the allow-list of ListInteractions filters.
var interactionFields = filter.Schema{
	"customer":           {Column: fmt.Sprintf(customerRef, "i"), Type: filter.String},
	"channel":            {Column: "i.channel", Type: filter.Enum, Enum: channels},
	"direction":          {Column: "i.direction", Type: filter.Enum, Enum: enumValues("DIRECTION_", "INBOUND", "OUTBOUND")},
	"kind":               {Column: "i.kind", Type: filter.Enum, Enum: enumValues("INTERACTION_KIND_", "CONTACT", "FOLLOW_UP_VISIT", "CARE_GREETING", "PURCHASE", "REFUND", "FEEDBACK", "COMPLAINT_MENTION", "NOTE")},
	"agent":              {Column: "i.agent", Type: filter.String},
	"touchpoint":         {Column: "coalesce('touchpoints/' || i.touchpoint_id, '')", Type: filter.String},
	"occur_time":         {Column: "i.occur_time", Type: filter.Timestamp},
	"create_time":        {Column: "i.create_time", Type: filter.Timestamp},
	"amount":             {Column: "i.amount", Type: filter.Decimal},
	"currency_code":      {Column: "i.currency_code", Type: filter.String},
	"satisfaction":       {Column: "i.satisfaction", Type: filter.Int},
	"sentiment":          {Column: "i.sentiment", Type: filter.Enum, Enum: enumValues("SENTIMENT_", "POSITIVE", "NEUTRAL", "NEGATIVE")},
	"lifecycle_stage":    {Column: "i.lifecycle_stage", Type: filter.Enum, Enum: stages},
	"product_categories": {Column: "i.product_categories", Type: filter.StringArray},
	"order_reference":    {Column: "i.order_reference", Type: filter.String},
}

// followUpFields is the allow-list of ListFollowUps filters.
var followUpFields = filter.Schema{
	"customer":  {Column: fmt.Sprintf(customerRef, "f"), Type: filter.String},
	"assignee":  {Column: "f.assignee", Type: filter.String},
	"state":     {Column: "f.state", Type: filter.Enum, Enum: enumValues("STATE_", "PLANNED", "COMPLETED", "MISSED", "CANCELLED")},
	"channel":   {Column: "f.channel", Type: filter.Enum, Enum: channels},
	"due_time":  {Column: "f.due_time", Type: filter.Timestamp},
	"care_rule": {Column: "coalesce('careRules/' || f.care_rule_id, '')", Type: filter.String},
}

// customerFields is the allow-list of care rules' customer filters, over
// the projection of customers.
var customerFields = filter.Schema{
	"kind":            {Column: "c.kind", Type: filter.Enum, Enum: enumValues("KIND_", "PERSON", "ORGANIZATION")},
	"source":          {Column: "c.source", Type: filter.Enum, Enum: enumValues("SOURCE_CHANNEL_", "MARKET_RESEARCH", "WEBSITE", "REFERRAL", "SALES_TEAM", "SOCIAL_MEDIA", "EVENT", "IMPORT", "OTHER")},
	"lifecycle_stage": {Column: "c.lifecycle_stage", Type: filter.Enum, Enum: stages},
	"value_tier":      {Column: "c.value_tier", Type: filter.Enum, Enum: enumValues("VALUE_TIER_", "A", "B", "C")},
	"account_manager": {Column: "c.account_manager", Type: filter.String},
	"tags":            {Column: "c.tags", Type: filter.StringArray},
}

// where builds a parameterised WHERE clause.
type where struct {
	conds []string
	args  []any
}

func (w *where) arg(v any) string {
	w.args = append(w.args, v)
	return fmt.Sprintf("$%d", len(w.args))
}

func (w *where) cond(c string) { w.conds = append(w.conds, c) }

func (w *where) filter(f string, schema filter.Schema) error {
	cl, err := filter.Compile(f, schema, len(w.args))
	if err != nil {
		return err
	}
	w.conds = append(w.conds, "("+cl.SQL+")")
	w.args = append(w.args, cl.Args...)
	return nil
}

func (w *where) sql() string {
	if len(w.conds) == 0 {
		return "TRUE"
	}
	return strings.Join(w.conds, " AND ")
}
