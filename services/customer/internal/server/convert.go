package server

import (
	"google.golang.org/protobuf/types/known/timestamppb"

	customerv1 "github.com/kehu-crm/kehu/pkg/api/kehu/customer/v1"
	"github.com/kehu-crm/kehu/pkg/errs"
	"github.com/kehu-crm/kehu/pkg/protoenum"
	"github.com/kehu-crm/kehu/services/customer/internal/customer"
)

func customerToDomain(c *customerv1.Customer, field string) (*customer.Customer, error) {
	if c == nil {
		return nil, errs.InvalidField(field, "is required")
	}
	var v errs.Violations
	out := &customer.Customer{
		Kind:             customer.Kind(protoenum.ToDomain(c.GetKind(), "KIND_", field+".kind", &v)),
		DisplayName:      c.GetDisplayName(),
		Emails:           c.GetEmails(),
		Phones:           c.GetPhones(),
		Company:          c.GetCompany(),
		Title:            c.GetTitle(),
		Birthday:         c.GetBirthday(),
		Source:           customer.Source(protoenum.ToDomain(c.GetSource(), "SOURCE_CHANNEL_", field+".source", &v)),
		Stage:            customer.Stage(protoenum.ToDomain(c.GetLifecycleStage(), "LIFECYCLE_STAGE_", field+".lifecycle_stage", &v)),
		ValueTier:        customer.ValueTier(protoenum.ToDomain(c.GetValueTier(), "VALUE_TIER_", field+".value_tier", &v)),
		AccountManager:   c.GetAccountManager(),
		Tags:             c.GetTags(),
		Attributes:       c.GetAttributes(),
		MarketingConsent: c.GetMarketingConsent(),
		ExternalID:       c.GetExternalId(),
	}
	if a := c.GetAddress(); a != nil {
		out.Address = customer.Address{
			Street: a.GetStreet(), City: a.GetCity(), Region: a.GetRegion(),
			PostalCode: a.GetPostalCode(), CountryCode: a.GetCountryCode(),
		}
	}
	if n := c.GetNeedProfile(); n != nil {
		out.Needs = customer.NeedProfile{
			Functional: n.GetFunctional(), Emotional: n.GetEmotional(), Social: n.GetSocial(),
			PriceSensitivity: customer.PriceSensitivity(protoenum.ToDomain(n.GetPriceSensitivity(), "PRICE_SENSITIVITY_", field+".need_profile.price_sensitivity", &v)),
		}
	}
	return out, v.Err()
}

func customerToProto(c *customer.Customer) *customerv1.Customer {
	if c == nil {
		return nil
	}
	out := &customerv1.Customer{
		Name:             c.Name(),
		Kind:             protoenum.FromDomain[customerv1.Kind](customerv1.Kind_value, "KIND_", string(c.Kind)),
		DisplayName:      c.DisplayName,
		Emails:           c.Emails,
		Phones:           c.Phones,
		Company:          c.Company,
		Title:            c.Title,
		Birthday:         c.Birthday,
		Source:           protoenum.FromDomain[customerv1.SourceChannel](customerv1.SourceChannel_value, "SOURCE_CHANNEL_", string(c.Source)),
		LifecycleStage:   stageToProto(c.Stage),
		ValueTier:        protoenum.FromDomain[customerv1.ValueTier](customerv1.ValueTier_value, "VALUE_TIER_", string(c.ValueTier)),
		AccountManager:   c.AccountManager,
		Tags:             c.Tags,
		Attributes:       c.Attributes,
		MarketingConsent: c.MarketingConsent,
		LoyaltyPoints:    c.Points,
		MembershipTier:   membershipToProto(c.Membership),
		ExternalId:       c.ExternalID,
		CreateTime:       timestamppb.New(c.CreateTime),
		UpdateTime:       timestamppb.New(c.UpdateTime),
		Etag:             c.Etag(),
		NeedProfile: &customerv1.NeedProfile{
			Functional: c.Needs.Functional, Emotional: c.Needs.Emotional, Social: c.Needs.Social,
			PriceSensitivity: protoenum.FromDomain[customerv1.PriceSensitivity](customerv1.PriceSensitivity_value, "PRICE_SENSITIVITY_", string(c.Needs.PriceSensitivity)),
		},
	}
	if c.Address != (customer.Address{}) {
		out.Address = &customerv1.PostalAddress{
			Street: c.Address.Street, City: c.Address.City, Region: c.Address.Region,
			PostalCode: c.Address.PostalCode, CountryCode: c.Address.CountryCode,
		}
	}
	if c.DeleteTime != nil {
		out.DeleteTime = timestamppb.New(*c.DeleteTime)
	}
	for _, id := range c.MergedIDs {
		out.MergedCustomers = append(out.MergedCustomers, customer.Name(id))
	}
	return out
}

func customersToProto(cs []*customer.Customer) []*customerv1.Customer {
	out := make([]*customerv1.Customer, len(cs))
	for i, c := range cs {
		out[i] = customerToProto(c)
	}
	return out
}

func stageToProto(s customer.Stage) customerv1.LifecycleStage {
	return protoenum.FromDomain[customerv1.LifecycleStage](customerv1.LifecycleStage_value, "LIFECYCLE_STAGE_", string(s))
}

func membershipToProto(m customer.Membership) customerv1.MembershipTier {
	return protoenum.FromDomain[customerv1.MembershipTier](customerv1.MembershipTier_value, "MEMBERSHIP_TIER_", string(m))
}

func transitionToProto(t *customer.Transition) *customerv1.LifecycleTransition {
	if t == nil {
		return nil
	}
	return &customerv1.LifecycleTransition{
		Name:       customer.Name(t.CustomerID) + "/lifecycleTransitions/" + t.ID,
		FromStage:  stageToProto(t.From),
		ToStage:    stageToProto(t.To),
		Reason:     t.Reason,
		Actor:      t.Actor,
		CreateTime: timestamppb.New(t.CreateTime),
	}
}

func ledgerEntryToProto(e *customer.LedgerEntry) *customerv1.PointsLedgerEntry {
	if e == nil {
		return nil
	}
	return &customerv1.PointsLedgerEntry{
		Name:       customer.Name(e.CustomerID) + "/pointsLedgerEntries/" + e.ID,
		Delta:      e.Delta,
		Balance:    e.Balance,
		Reason:     e.Reason,
		Actor:      e.Actor,
		RequestId:  e.RequestID,
		CreateTime: timestamppb.New(e.CreateTime),
	}
}

func duplicateReasonToProto(r customer.DuplicateReason) customerv1.DuplicateGroup_Reason {
	return protoenum.FromDomain[customerv1.DuplicateGroup_Reason](customerv1.DuplicateGroup_Reason_value, "REASON_", string(r))
}
