package store

import (
	"github.com/kehu-crm/kehu/pkg/filter"
	"github.com/kehu-crm/kehu/services/customer/internal/customer"
)

// filterSchema is the allow-list of fields an AIP-160 filter may name, and
// the SQL each one stands for. Anything else is rejected by filter.Compile.
// E-mails and phones are encrypted: a filter compares their blind indexes
// (equality only); the birthday is encrypted without an index and cannot
// be filtered on. City and country code are kept in plaintext.
func filterSchema(emailIndex, phoneIndex func(string) string) filter.Schema {
	return filter.Schema{
		"display_name":      {Column: "c.display_name", Type: filter.String},
		"email":             {Column: "c.email_index", Type: filter.StringArray, Index: emailIndex},
		"phone":             {Column: "c.phone_index", Type: filter.StringArray, Index: phoneIndex},
		"company":           {Column: "c.company", Type: filter.String},
		"title":             {Column: "c.title", Type: filter.String},
		"kind":              {Column: "c.kind", Type: filter.Enum, Enum: filter.EnumValues("KIND_", customer.KindPerson, customer.KindOrganization)},
		"source":            {Column: "c.source", Type: filter.Enum, Enum: filter.EnumValues("SOURCE_CHANNEL_", customer.SourceMarketResearch, customer.SourceWebsite, customer.SourceReferral, customer.SourceSalesTeam, customer.SourceSocialMedia, customer.SourceEvent, customer.SourceImport, customer.SourceOther)},
		"lifecycle_stage":   {Column: "c.lifecycle_stage", Type: filter.Enum, Enum: filter.EnumValues("LIFECYCLE_STAGE_", customer.StageProspect, customer.StageFirstPurchase, customer.StageRepeat, customer.StageLoyal, customer.StageAtRisk, customer.StageChurned)},
		"value_tier":        {Column: "c.value_tier", Type: filter.Enum, Enum: filter.EnumValues("VALUE_TIER_", customer.TierA, customer.TierB, customer.TierC)},
		"membership_tier":   {Column: "c.membership_tier", Type: filter.Enum, Enum: filter.EnumValues("MEMBERSHIP_TIER_", customer.MembershipBasic, customer.MembershipSilver, customer.MembershipGold, customer.MembershipPlatinum)},
		"account_manager":   {Column: "c.account_manager", Type: filter.String},
		"tags":              {Column: "c.tags", Type: filter.StringArray},
		"external_id":       {Column: "coalesce(c.external_id, '')", Type: filter.String},
		"marketing_consent": {Column: "c.marketing_consent", Type: filter.Bool},
		"loyalty_points":    {Column: "c.loyalty_points", Type: filter.Int},
		"birthday":          {Column: "c.pii", Type: filter.Sealed},
		"create_time":       {Column: "c.create_time", Type: filter.Timestamp},
		"update_time":       {Column: "c.update_time", Type: filter.Timestamp},
		"delete_time":       {Column: "c.delete_time", Type: filter.Timestamp},
		"city":              {Column: "coalesce(c.address->>'city', '')", Type: filter.String},
		"country_code":      {Column: "coalesce(c.address->>'country_code', '')", Type: filter.String},
	}
}
