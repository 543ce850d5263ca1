package customer

import (
	"context"
	"strings"

	"github.com/kehu-crm/kehu/pkg/auth"
	"github.com/kehu-crm/kehu/pkg/errs"
)

// Access rules. The permission table (who may call which method) lives with
// the gRPC handlers; these are the finer, per-customer rules behind it:
//
//   - admin, manager and service see and change every customer.
//   - agent sees and changes only the customers they manage plus the
//     unassigned pool; everything else looks as if it did not exist
//     (NOT_FOUND, never PERMISSION_DENIED), so agents cannot probe for
//     customers they may not see. An agent can assign customers only to
//     themselves (claiming from the pool) or back to the pool.
//   - analyst and viewer see every customer, with personal data masked:
//     e-mails, phones, birthday, street address and postal code. Analysts
//     work with aggregates; viewers only need to know who a customer is.
type access struct {
	principal auth.Principal
}

func accessFrom(ctx context.Context) (access, error) {
	p, ok := auth.FromContext(ctx)
	if !ok {
		return access{}, errs.Unauthenticated("no authenticated caller")
	}
	return access{principal: p}, nil
}

// actor is recorded on history entries and events.
func (a access) actor() string { return a.principal.Subject }

// unrestricted reports callers who see and change every customer.
func (a access) unrestricted() bool {
	return a.principal.HasAny(auth.RoleAdmin, auth.RoleManager, auth.RoleService)
}

// scope returns the account manager an agent's queries are limited to, or ""
// for callers who see everyone.
func (a access) scope() string {
	if a.unrestricted() || !a.principal.Has(auth.RoleAgent) {
		return ""
	}
	return a.principal.Subject
}

// masked reports callers who must not see personal data.
func (a access) masked() bool {
	return !a.unrestricted() && !a.principal.Has(auth.RoleAgent)
}

// canSee reports whether the caller may read c.
func (a access) canSee(c *Customer) bool {
	s := a.scope()
	return s == "" || c.AccountManager == "" || c.AccountManager == s
}

// canChange reports whether the caller may modify c.
func (a access) canChange(c *Customer) bool {
	if a.unrestricted() {
		return true
	}
	return a.principal.Has(auth.RoleAgent) && (c.AccountManager == "" || c.AccountManager == a.principal.Subject)
}

// checkAssignee rejects an agent giving a customer to somebody else.
func (a access) checkAssignee(manager, field string) error {
	if a.unrestricted() || manager == "" || manager == a.principal.Subject {
		return nil
	}
	return errs.PermissionDenied("agents may assign customers only to themselves (%s)", field)
}

// view returns what the caller may see of c.
func (a access) view(c *Customer) *Customer {
	if !a.masked() {
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
