// Package resource holds what every Kehu domain says the same way about
// its AIP resources: the target of a mutation and the etag rule.
package resource

import "github.com/kehu-crm/kehu/pkg/errs"

// Mutation names the resource a delete, undelete or purge acts on.
type Mutation struct {
	Name string
	// Etag is the one the caller read; empty skips the check.
	Etag string
	// RequestID makes the mutation idempotent (AIP-155).
	RequestID string
}

// CheckEtag enforces optimistic concurrency (AIP-154): an etag the caller
// sends must be the current one, or the change is ABORTED with
// ETAG_MISMATCH. No etag means "whatever the current state".
func CheckEtag(given, current, name string) error {
	if given != "" && given != current {
		return errs.EtagMismatch(name)
	}
	return nil
}
