package store

import (
	"fmt"
	"strings"

	"github.com/kehu-crm/kehu/pkg/filter"
	"github.com/kehu-crm/kehu/services/customer/internal/customer"
)

// filterFields is the allow-list of fields an AIP-160 filter may name, and
// the SQL each one stands for. Anything else is rejected by filter.Compile.
var filterFields = filter.Schema{
	"display_name":      {Column: "c.display_name", Type: filter.String},
	"email":             {Column: "c.emails", Type: filter.StringArray},
	"phone":             {Column: "c.phones", Type: filter.StringArray},
	"company":           {Column: "c.company", Type: filter.String},
	"title":             {Column: "c.title", Type: filter.String},
	"kind":              {Column: "c.kind", Type: filter.Enum, Enum: enumValues("KIND_", customer.KindPerson, customer.KindOrganization)},
	"source":            {Column: "c.source", Type: filter.Enum, Enum: enumValues("SOURCE_CHANNEL_", customer.SourceMarketResearch, customer.SourceWebsite, customer.SourceReferral, customer.SourceSalesTeam, customer.SourceSocialMedia, customer.SourceEvent, customer.SourceImport, customer.SourceOther)},
	"lifecycle_stage":   {Column: "c.lifecycle_stage", Type: filter.Enum, Enum: enumValues("LIFECYCLE_STAGE_", customer.StageProspect, customer.StageFirstPurchase, customer.StageRepeat, customer.StageLoyal, customer.StageAtRisk, customer.StageChurned)},
	"value_tier":        {Column: "c.value_tier", Type: filter.Enum, Enum: enumValues("VALUE_TIER_", customer.TierA, customer.TierB, customer.TierC)},
	"membership_tier":   {Column: "c.membership_tier", Type: filter.Enum, Enum: enumValues("MEMBERSHIP_TIER_", customer.MembershipBasic, customer.MembershipSilver, customer.MembershipGold, customer.MembershipPlatinum)},
	"account_manager":   {Column: "c.account_manager", Type: filter.String},
	"tags":              {Column: "c.tags", Type: filter.StringArray},
	"external_id":       {Column: "coalesce(c.external_id, '')", Type: filter.String},
	"marketing_consent": {Column: "c.marketing_consent", Type: filter.Bool},
	"loyalty_points":    {Column: "c.loyalty_points", Type: filter.Int},
	"birthday":          {Column: "c.birthday", Type: filter.String},
	"create_time":       {Column: "c.create_time", Type: filter.Timestamp},
	"update_time":       {Column: "c.update_time", Type: filter.Timestamp},
	"delete_time":       {Column: "c.delete_time", Type: filter.Timestamp},
	"city":              {Column: "coalesce(c.address->>'city', '')", Type: filter.String},
	"country_code":      {Column: "coalesce(c.address->>'country_code', '')", Type: filter.String},
}

// enumValues accepts both the short ("LOYAL") and the full proto name
// ("LIFECYCLE_STAGE_LOYAL") of each stored value.
func enumValues[T ~string](prefix string, values ...T) func(string) (string, bool) {
	return func(lit string) (string, bool) {
		lit = strings.TrimPrefix(strings.ToUpper(lit), prefix)
		for _, v := range values {
			if string(v) == lit {
				return lit, true
			}
		}
		return "", false
	}
}

// where builds a parameterised WHERE clause.
type where struct {
	conds []string
	args  []any
}

func newWhere() *where { return &where{} }

// arg binds a value and returns its placeholder.
func (w *where) arg(v any) string {
	w.args = append(w.args, v)
	return fmt.Sprintf("$%d", len(w.args))
}

// add appends a condition; each %s in format becomes the placeholder of the
// matching value.
func (w *where) add(format string, values ...any) {
	ph := make([]any, len(values))
	for i, v := range values {
		ph[i] = w.arg(v)
	}
	if len(ph) == 0 {
		w.conds = append(w.conds, format)
		return
	}
	w.conds = append(w.conds, fmt.Sprintf(format, ph...))
}

// filter compiles an AIP-160 filter into the clause.
func (w *where) filter(f string) error {
	cl, err := filter.Compile(f, filterFields, len(w.args))
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
