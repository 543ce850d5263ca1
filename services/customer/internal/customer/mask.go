package customer

import "slices"

// applyMask copies the fields named by a checked update_mask from src to
// dst; "address.city" and its siblings change one part of the address.
func applyMask(dst, src *Customer, paths []string) {
	for _, p := range paths {
		switch p {
		case "kind":
			dst.Kind = src.Kind
		case "display_name":
			dst.DisplayName = src.DisplayName
		case "emails":
			dst.Emails = slices.Clone(src.Emails)
		case "phones":
			dst.Phones = slices.Clone(src.Phones)
		case "company":
			dst.Company = src.Company
		case "title":
			dst.Title = src.Title
		case "address":
			dst.Address = src.Address
		case "address.street":
			dst.Address.Street = src.Address.Street
		case "address.city":
			dst.Address.City = src.Address.City
		case "address.region":
			dst.Address.Region = src.Address.Region
		case "address.postal_code":
			dst.Address.PostalCode = src.Address.PostalCode
		case "address.country_code":
			dst.Address.CountryCode = src.Address.CountryCode
		case "birthday":
			dst.Birthday = src.Birthday
		case "source":
			dst.Source = src.Source
		case "value_tier":
			dst.ValueTier = src.ValueTier
		case "need_profile":
			dst.Needs = src.Needs
		case "account_manager":
			dst.AccountManager = src.AccountManager
		case "tags":
			dst.Tags = slices.Clone(src.Tags)
		case "attributes":
			dst.Attributes = src.Clone().Attributes
		case "marketing_consent":
			dst.MarketingConsent = src.MarketingConsent
		case "external_id":
			dst.ExternalID = src.ExternalID
		}
	}
}
