package customer

import (
	"context"
	"maps"
	"slices"
	"strconv"
	"time"

	"github.com/kehu-crm/kehu/pkg/auth"
	"github.com/kehu-crm/kehu/pkg/errs"
	"github.com/kehu-crm/kehu/pkg/event"
	"github.com/kehu-crm/kehu/pkg/idempotency"
)

// MergeRecord is what one merge changed, kept so that it can be reversed.
type MergeRecord struct {
	MergedID   string
	SurvivorID string
	// MergedBefore and SurvivorBefore are both sides just before the merge.
	MergedBefore   *Customer
	SurvivorBefore *Customer
	// Points moved from the merged customer to the survivor.
	Points     int64
	Actor      string
	CreateTime time.Time
}

// UnmergeInput is the input of Unmerge.
type UnmergeInput struct {
	Name      string
	RequestID string
}

// UnmergeResult is the outcome of Unmerge.
type UnmergeResult struct {
	Restored *Customer
	Survivor *Customer
}

// Unmerge reverses the merge of a customer, within the unmerge window:
//   - the merged customer is restored as it was at merge time (fields,
//     contacts, the customers merged into it earlier) and gets its points
//     back, which the survivor gives up (refused if it has spent them:
//     points are never minted);
//   - the survivor gives back what the merge took from this customer: the
//     e-mails, phones, tags and attributes it did not have before, and the
//     fields the merge filled from it, where the survivor still holds the
//     merged value (changes made since the merge are kept);
//   - customer.unmerged tells other services to return the records they
//     moved to the survivor.
func (s *Service) Unmerge(ctx context.Context, in UnmergeInput) (UnmergeResult, error) {
	a, err := auth.AccessFrom(ctx)
	if err != nil {
		return UnmergeResult{}, err
	}
	id, err := ParseName("name", in.Name)
	if err != nil {
		return UnmergeResult{}, err
	}
	var survivorID string
	_, _, err = idempotency.Run(ctx, s.store.InTx, "UnmergeCustomer", in.RequestID, in, func(ctx context.Context, tx Tx) (string, error) {
		m, err := s.takeMerge(ctx, tx, a, id)
		if err != nil {
			return "", err
		}
		survivorID = m.SurvivorID
		survivor, err := s.lockLive(ctx, tx, a, m.SurvivorID, Name(m.SurvivorID))
		if err != nil {
			return "", err
		}
		if survivor.Points < m.Points {
			return "", errs.FailedPrecondition("POINTS_SPENT",
				"%s has %d points but took %d from %s in the merge; add points before unmerging",
				survivor.Name(), survivor.Points, m.Points, Name(id)).
				WithMetadata("balance", strconv.FormatInt(survivor.Points, 10))
		}
		return survivor.ID, s.applyUnmerge(ctx, tx, a, m, survivor)
	})
	if err != nil {
		return UnmergeResult{}, err
	}
	if survivorID == "" { // replayed: the restored customer names itself
		survivorID = id
	}
	s.cache.Invalidate(ctx, id, survivorID)
	var res UnmergeResult
	if res.Restored, err = s.read(ctx, a, id); err != nil {
		return UnmergeResult{}, err
	}
	if res.Survivor, err = s.read(ctx, a, survivorID); err != nil {
		return UnmergeResult{}, err
	}
	return res, nil
}

// takeMerge finds the merge to reverse. Who cannot see the survivor cannot
// learn that the name was merged.
func (s *Service) takeMerge(ctx context.Context, tx Tx, a auth.Access, id string) (*MergeRecord, error) {
	c, err := tx.Get(ctx, id)
	if errs.Is(err, errs.KindNotFound) || err == nil && !a.CanSee(c.AccountManager) {
		return nil, errs.NotFound(Name(id))
	}
	if err != nil {
		return nil, err
	}
	m, err := tx.TakeMerge(ctx, id)
	if errs.Is(err, errs.KindNotFound) {
		if c.ID == id {
			return nil, errs.FailedPrecondition("CUSTOMER_NOT_MERGED", "%s is not merged into another customer", Name(id))
		}
		return nil, errs.FailedPrecondition("UNMERGE_WINDOW_PASSED", "the merge of %s into %s can no longer be reversed", Name(id), c.Name())
	}
	if err != nil {
		return nil, err
	}
	if s.unmergeWindow > 0 && s.now().Sub(m.CreateTime) > s.unmergeWindow {
		return nil, errs.FailedPrecondition("UNMERGE_WINDOW_PASSED",
			"%s was merged on %s; merges can be reversed for %s", Name(id), m.CreateTime.Format(time.RFC3339), s.unmergeWindow)
	}
	return m, nil
}

func (s *Service) applyUnmerge(ctx context.Context, tx Tx, a auth.Access, m *MergeRecord, survivor *Customer) (err error) {
	restored := m.MergedBefore.Clone()
	restored.Points, restored.Membership, restored.DeleteTime = 0, s.tiers.For(0), m.MergedBefore.DeleteTime
	after := giveBack(survivor, m)
	if restored.ExternalID != "" && after.ExternalID == restored.ExternalID {
		after.ExternalID = ""
	}
	// The survivor lets go first, so that the external id and contacts are
	// free when the restored customer takes them back.
	if err := s.save(ctx, tx, after); err != nil {
		return err
	}
	if restored.Revision, err = tx.Unmark(ctx, restored, survivor.ID); err != nil {
		return err
	}
	if restored.ExternalID != "" {
		if restored.ExternalID, err = s.freeExternalID(ctx, tx, restored); err != nil {
			return err
		}
	}
	if err := s.save(ctx, tx, restored); err != nil {
		return err
	}
	if err := tx.ReleaseContacts(ctx, after.ID, missing(survivor.Emails, after.Emails), missing(survivor.Phones, after.Phones)); err != nil {
		return err
	}
	if err := s.claimContacts(ctx, tx, a, restored.ID, restored.Emails, restored.Phones, false); err != nil {
		return err
	}
	if m.Points > 0 {
		if _, err := s.applyPoints(ctx, tx, a, after, -m.Points, "unmerged "+restored.Name(), ""); err != nil {
			return err
		}
		if _, err := s.applyPoints(ctx, tx, a, restored, m.Points, "points restored from "+after.Name(), ""); err != nil {
			return err
		}
	}
	return tx.Emit(ctx,
		event.Event{Type: EventUnmerged, Subject: after.Name(), Actor: a.Actor(), Data: UnmergedData{SurvivorID: after.ID, RestoredID: restored.ID}},
		event.Event{Type: EventUndeleted, Subject: restored.Name(), Actor: a.Actor(), Data: restored},
		event.Event{Type: EventUpdated, Subject: after.Name(), Actor: a.Actor(), Data: after})
}

// giveBack returns the survivor without what the merge of m took from the
// merged customer. A value the survivor had before, or changed since, stays.
func giveBack(survivor *Customer, m *MergeRecord) *Customer {
	out := survivor.Clone()
	before, merged := m.SurvivorBefore, m.MergedBefore
	drop := func(list []string, had, gave []string) []string {
		return slices.DeleteFunc(list, func(v string) bool { return slices.Contains(gave, v) && !slices.Contains(had, v) })
	}
	out.Emails = drop(out.Emails, before.Emails, merged.Emails)
	out.Phones = drop(out.Phones, before.Phones, merged.Phones)
	out.Tags = drop(out.Tags, before.Tags, merged.Tags)
	maps.DeleteFunc(out.Attributes, func(k, v string) bool {
		_, had := before.Attributes[k]
		return !had && merged.Attributes[k] == v
	})
	restore := func(dst *string, had, gave string) {
		if had == "" && gave != "" && *dst == gave {
			*dst = ""
		}
	}
	restore(&out.Company, before.Company, merged.Company)
	restore(&out.Title, before.Title, merged.Title)
	restore(&out.Birthday, before.Birthday, merged.Birthday)
	restore(&out.AccountManager, before.AccountManager, merged.AccountManager)
	if before.Address == (Address{}) && out.Address == merged.Address {
		out.Address = Address{}
	}
	if out.ValueTier == merged.ValueTier && before.ValueTier != merged.ValueTier {
		out.ValueTier = before.ValueTier
	}
	out.MergedIDs = slices.DeleteFunc(out.MergedIDs, func(id string) bool {
		return id == merged.ID || slices.Contains(merged.MergedIDs, id)
	})
	return out
}
