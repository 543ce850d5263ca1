package customer

import (
	"strings"

	"github.com/kehu-crm/kehu/pkg/auth"
)

// Customers follow the platform's access rules (auth.Access) with the
// account manager as the owner. Masked callers (analysts, viewers) see
// e-mails, phones, birthday, street address and postal code hidden:
// analysts work with aggregates; viewers only need to know who a customer
// is.

// hiddenFilters are the filter fields over data view hides from masked
// callers: filtering on them would recover it one guess at a time. (Street
// and postal code are not filterable at all; no sort field is masked.)
var hiddenFilters = []string{"email", "phone", "birthday"}

// hiddenFrom returns the filter fields the caller may not name.
func hiddenFrom(a auth.Access) []string {
	if a.Masked() {
		return hiddenFilters
	}
	return nil
}

// view returns what the caller may see of c.
func view(a auth.Access, c *Customer) *Customer {
	if !a.Masked() {
		return c
	}
	m := c.Clone()
	for i, e := range m.Emails {
		m.Emails[i] = maskEmail(e)
	}
	for i, p := range m.Phones {
		m.Phones[i] = maskPhone(p)
	}
	m.Birthday = ""
	m.Address.Street = ""
	m.Address.PostalCode = ""
	return m
}

// maskEmail keeps the first letter and the domain: "j***@example.com".
func maskEmail(e string) string {
	at := strings.LastIndexByte(e, '@')
	if at <= 0 {
		return "***"
	}
	return e[:1] + "***" + e[at:]
}

// maskPhone keeps the country prefix and last four digits: "+86*******5678".
func maskPhone(p string) string {
	if len(p) <= 7 {
		return strings.Repeat("*", len(p))
	}
	return p[:3] + strings.Repeat("*", len(p)-7) + p[len(p)-4:]
}
