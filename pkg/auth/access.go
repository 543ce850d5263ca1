package auth

import (
	"context"

	"github.com/kehu-crm/kehu/pkg/errs"
)

// Access is a caller as the per-record rules behind every service's
// permission table see them. The rules are the same in every service:
//
//   - admin, manager and service are unrestricted: they see and change
//     every record;
//   - an agent works with the records they own (a customer they manage, an
//     interaction they handled, a ticket assigned to them) plus the
//     unassigned pool; anything else looks as if it did not exist
//     (NOT_FOUND, never PERMISSION_DENIED), so agents cannot probe for it;
//   - analysts and viewers see every record with personal data masked.
//
// What "owner" and "masked" mean for a given record is the service's own
// business; Access only answers for the caller.
type Access struct {
	Principal
}

// AccessFrom returns the authenticated caller of ctx.
func AccessFrom(ctx context.Context) (Access, error) {
	p, ok := FromContext(ctx)
	if !ok {
		return Access{}, errs.Unauthenticated("no authenticated caller")
	}
	return Access{p}, nil
}

// Actor is recorded on history entries and events.
func (a Access) Actor() string { return a.Subject }

// Unrestricted reports callers who see and change every record.
func (a Access) Unrestricted() bool {
	return a.HasAny(RoleAdmin, RoleManager, RoleService)
}

// agent reports a caller limited to their own records.
func (a Access) agent() bool { return !a.Unrestricted() && a.Has(RoleAgent) }

// Scope is the owner an agent's queries are limited to, or "" for callers
// who see every record.
func (a Access) Scope() string {
	if a.agent() {
		return a.Subject
	}
	return ""
}

// Masked reports callers who must not see personal data.
func (a Access) Masked() bool {
	return !a.Unrestricted() && !a.Has(RoleAgent)
}

// CanSee reports whether the caller may read a record owned by owner
// ("" is the unassigned pool).
func (a Access) CanSee(owner string) bool {
	s := a.Scope()
	return s == "" || owner == "" || owner == s
}

// CanChange reports whether the caller may modify a record owned by owner.
func (a Access) CanChange(owner string) bool {
	return a.Unrestricted() || a.agent() && (owner == "" || owner == a.Subject)
}

// CheckAssignee rejects an agent giving a record to somebody else: agents
// may take work from the pool or give it back, managers assign anyone.
func (a Access) CheckAssignee(assignee, field string) error {
	if a.Unrestricted() || assignee == "" || assignee == a.Subject {
		return nil
	}
	return errs.PermissionDenied("agents may assign work only to themselves (%s)", field)
}
