package customer

import (
	"context"
	"slices"

	"github.com/kehu-crm/kehu/pkg/auth"
	"github.com/kehu-crm/kehu/pkg/errs"
)

// A normalised e-mail or phone belongs to one live customer at a time; the
// store enforces it with a unique key (Tx.ClaimContacts), so concurrent
// creates cannot both take one. allow_duplicates creates a customer that
// lists contacts others own, without taking them.

// claimContacts takes ownership of the contacts of customer id. When
// strict, a contact another customer owns fails the change with
// ALREADY_EXISTS.
func (s *Service) claimContacts(ctx context.Context, tx Tx, a auth.Access, id string, emails, phones []string, strict bool) error {
	owner, err := tx.ClaimContacts(ctx, id, emails, phones)
	if err != nil || owner == "" || !strict {
		return err
	}
	return duplicateError(ctx, tx, a, owner)
}

// changeContacts follows an update: contacts no longer listed are released
// to whoever else lists them, new ones are claimed strictly. Contacts kept
// from before are not checked again: an update that keeps an already
// shared contact must not start failing.
func (s *Service) changeContacts(ctx context.Context, tx Tx, a auth.Access, cur, next *Customer) error {
	if err := tx.ReleaseContacts(ctx, cur.ID, missing(cur.Emails, next.Emails), missing(cur.Phones, next.Phones)); err != nil {
		return err
	}
	return s.claimContacts(ctx, tx, a, next.ID, missing(next.Emails, cur.Emails), missing(next.Phones, cur.Phones), true)
}

// duplicateError answers a contact that belongs to another customer. The
// owner is named only to a caller who may see it: to anyone else the
// answer must not reveal whose customer holds the contact.
// It reads the owner in the transaction: a second pool connection per
// refused create could starve the pool under a burst of them.
func duplicateError(ctx context.Context, tx Tx, a auth.Access, ownerID string) error {
	if owner, err := tx.Get(ctx, ownerID); err == nil && a.CanSee(owner.AccountManager) {
		return errs.AlreadyExists("DUPLICATE_CUSTOMER",
			"a customer with this e-mail or phone already exists: %s (set allow_duplicates to create anyway)", owner.Name()).
			WithMetadata("existing_customer", owner.Name())
	}
	return errs.AlreadyExists("DUPLICATE_CUSTOMER",
		"a customer you cannot see already has this e-mail or phone (ask its account manager or an administrator, or set allow_duplicates to create anyway)")
}

// missing returns the values of from that are not in other.
func missing(from, other []string) []string {
	var out []string
	for _, v := range from {
		if !slices.Contains(other, v) {
			out = append(out, v)
		}
	}
	return out
}
