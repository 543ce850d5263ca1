package customer

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"slices"

	"github.com/kehu-crm/kehu/pkg/auth"
	"github.com/kehu-crm/kehu/pkg/errs"
	"github.com/kehu-crm/kehu/pkg/event"
	"github.com/kehu-crm/kehu/pkg/idempotency"
	"github.com/kehu-crm/kehu/pkg/pagetoken"
)

// FindDuplicates lists groups of likely duplicate customers, or only
// those of the customer named (when not "").
func (s *Service) FindDuplicates(ctx context.Context, name string, pageSize int32, pageToken string) ([]DuplicateGroup, string, error) {
	if _, err := auth.AccessFrom(ctx); err != nil {
		return nil, "", err
	}
	size, err := pagetoken.Size(pageSize, 50, 500)
	if err != nil {
		return nil, "", err
	}
	id := ""
	if name != "" {
		if id, err = ParseName("customer", name); err != nil {
			return nil, "", err
		}
	}
	var cur struct {
		Offset int `json:"o"`
	}
	if pageToken != "" {
		if err := pagetoken.Decode(pageToken, "duplicates\x00"+id, &cur); err != nil {
			return nil, "", err
		}
	}
	groups, err := s.store.FindDuplicates(ctx, id, cur.Offset, size+1)
	if err != nil {
		return nil, "", err
	}
	var next string
	if len(groups) > size {
		groups = groups[:size]
		cur.Offset += size
		next = pagetoken.Encode("duplicates\x00"+id, cur)
	}
	return groups, next, nil
}

// MergeInput is the input of Merge.
type MergeInput struct {
	Survivor  string
	Merged    []string
	DryRun    bool
	RequestID string
}

// FieldMerge says how one field was decided. Values are JSON.
type FieldMerge struct {
	Field         string
	SurvivorValue string
	MergedValue   string
	SourceID      string
}

// MergeResult is the outcome of Merge.
type MergeResult struct {
	Customer *Customer
	Fields   []FieldMerge
}

// Merge folds customers into a survivor. Rules, chosen so that nothing the
// company knows is lost and nothing is invented:
//   - scalar fields the survivor lacks are taken from the first merged
//     customer (in request order) that has them;
//   - e-mails, phones and tags are unioned, the survivor's first;
//   - attributes the survivor lacks are added;
//   - points are summed (ledger entries on every side), the value tier is the
//     best of all, marketing consent stays the survivor's (consent given to
//     one record is not consent for another);
//   - the result obeys the limits of any customer (e-mails, phones, tags,
//     attributes): a merge that would break one is refused, naming the
//     field, rather than leaving a survivor no update can save;
//   - merged customers are soft-deleted and remember the survivor, so their
//     names keep resolving to it for reads; changes through those names
//     are refused (lockVisible), so each name locks a distinct customer
//     and nothing is counted twice.
func (s *Service) Merge(ctx context.Context, in MergeInput) (MergeResult, error) {
	a, err := auth.AccessFrom(ctx)
	if err != nil {
		return MergeResult{}, err
	}
	survivorID, err := ParseName("survivor", in.Survivor)
	if err != nil {
		return MergeResult{}, err
	}
	if len(in.Merged) == 0 || len(in.Merged) > maxMerge {
		return MergeResult{}, errs.InvalidField("merged", "name 1 to %d customers to merge", maxMerge)
	}
	mergedIDs := make([]string, len(in.Merged))
	for i, n := range in.Merged {
		field := fmt.Sprintf("merged[%d]", i)
		if mergedIDs[i], err = ParseName(field, n); err != nil {
			return MergeResult{}, err
		}
		if mergedIDs[i] == survivorID || slices.Contains(mergedIDs[:i], mergedIDs[i]) {
			return MergeResult{}, errs.InvalidField(field, "%s is named twice", n)
		}
	}
	var res MergeResult
	_, _, err = idempotency.Run(ctx, s.store.InTx, "MergeCustomers", in.RequestID, in, func(ctx context.Context, tx Tx) (string, error) {
		survivor, err := s.lockLive(ctx, tx, a, survivorID, in.Survivor)
		if err != nil {
			return "", err
		}
		merged := make([]*Customer, len(mergedIDs))
		for i, id := range mergedIDs {
			if merged[i], err = s.lockLive(ctx, tx, a, id, in.Merged[i]); err != nil {
				return "", err
			}
		}
		res.Customer, res.Fields = combine(survivor, merged)
		res.Customer.Membership = s.tiers.For(res.Customer.Points)
		if err := s.checkMergedLimits(res.Customer); err != nil {
			return "", err
		}
		if in.DryRun {
			return survivor.ID, errDryRun
		}
		return survivor.ID, s.applyMerge(ctx, tx, a, survivor, res.Customer, merged)
	})
	if errors.Is(err, errDryRun) {
		return MergeResult{Customer: view(a, res.Customer), Fields: res.Fields}, nil
	}
	if err != nil {
		return MergeResult{}, err
	}
	s.cache.Invalidate(ctx, append(mergedIDs, survivorID)...)
	c, err := s.read(ctx, a, survivorID)
	if err != nil {
		return MergeResult{}, err
	}
	// A replayed merge reports no field decisions: they were made by the
	// first call and the inputs are gone.
	return MergeResult{Customer: c, Fields: res.Fields}, nil
}

// errDryRun rolls back a dry-run merge's transaction: the reads and locks are
// real, the writes never happen.
var errDryRun = errors.New("dry run")

func (s *Service) lockLive(ctx context.Context, tx Tx, a auth.Access, id, name string) (*Customer, error) {
	c, err := s.lockVisible(ctx, tx, a, id)
	if err != nil {
		return nil, err
	}
	if c.Deleted() {
		return nil, errs.FailedPrecondition("CUSTOMER_DELETED", "%s is deleted", name)
	}
	return c, nil
}

func (s *Service) applyMerge(ctx context.Context, tx Tx, a auth.Access, before, after *Customer, merged []*Customer) error {
	now := s.now()
	ids := make([]string, len(merged))
	for i, m := range merged {
		ids[i] = m.ID
		if err := tx.InsertMerge(ctx, &MergeRecord{
			MergedID: m.ID, SurvivorID: before.ID, MergedBefore: m.Clone(), SurvivorBefore: before.Clone(),
			Points: m.Points, Actor: a.Actor(), CreateTime: now,
		}); err != nil {
			return err
		}
		if m.Points > 0 {
			if _, err := s.applyPoints(ctx, tx, a, m, -m.Points, "merged into "+before.Name(), ""); err != nil {
				return err
			}
		}
	}
	// Merged rows give up their external ids and contacts before the
	// survivor takes them, so uniqueness holds at every statement. The
	// rows as stored afterwards (delete time, revision) are what the
	// events carry.
	gone, err := tx.MarkMerged(ctx, ids, before.ID, now)
	if err != nil {
		return err
	}
	gained := after.Points - before.Points
	after.Points = before.Points
	if err := s.save(ctx, tx, after); err != nil {
		return err
	}
	if err := tx.ReleaseAllContacts(ctx, ids); err != nil {
		return err
	}
	if err := s.claimContacts(ctx, tx, a, after.ID, after.Emails, after.Phones, false); err != nil {
		return err
	}
	if gained > 0 {
		if _, err := s.applyPoints(ctx, tx, a, after, gained, "points of merged customers", ""); err != nil {
			return err
		}
	}
	names := make([]string, len(ids))
	for i, id := range ids {
		names[i] = Name(id)
	}
	evs := []event.Event{{Type: EventMerged, Subject: after.Name(), Actor: a.Actor(), Data: MergedData{SurvivorID: after.ID, MergedIDs: ids}}}
	for _, m := range gone {
		evs = append(evs, event.Event{Type: EventDeleted, Subject: m.Name(), Actor: a.Actor(), Data: m})
	}
	evs = append(evs, event.Event{Type: EventUpdated, Subject: after.Name(), Actor: a.Actor(), Data: after})
	return tx.Emit(ctx, evs...)
}

// checkMergedLimits applies the limits of a stored customer to a merge's
// result. The merge names customers, not fields, so a broken limit is a
// precondition the caller fixes by trimming a side first.
func (s *Service) checkMergedLimits(c *Customer) error {
	err := s.norm.Normalize(c.Clone(), "customer")
	e, ok := errs.As(err)
	if !ok || len(e.Violations) == 0 {
		return err
	}
	first := e.Violations[0]
	return errs.FailedPrecondition("MERGE_EXCEEDS_LIMITS",
		"the merged customer would break a limit: %s %s (%d in all); remove values from the survivor or the merged customers first",
		first.Field, first.Description, len(e.Violations)).WithMetadata("field", first.Field)
}

// combine computes the merged survivor and the decision for every field
// that changed.
func combine(survivor *Customer, merged []*Customer) (*Customer, []FieldMerge) {
	out := survivor.Clone()
	var fields []FieldMerge
	record := func(field string, before, after any, source string) {
		b, _ := json.Marshal(before)
		f, _ := json.Marshal(after)
		if string(b) != string(f) {
			fields = append(fields, FieldMerge{Field: field, SurvivorValue: string(b), MergedValue: string(f), SourceID: source})
		}
	}
	fill := func(field string, dst *string) {
		if *dst != "" {
			return
		}
		for _, m := range merged {
			if v := stringField(m, field); v != "" {
				record(field, *dst, v, m.ID)
				*dst = v
				return
			}
		}
	}
	fill("company", &out.Company)
	fill("title", &out.Title)
	fill("birthday", &out.Birthday)
	fill("account_manager", &out.AccountManager)
	fill("external_id", &out.ExternalID)
	if out.Address == (Address{}) {
		for _, m := range merged {
			if m.Address != (Address{}) {
				record("address", out.Address, m.Address, m.ID)
				out.Address = m.Address
				break
			}
		}
	}
	union := func(field string, dst *[]string, pick func(*Customer) []string) {
		before := slices.Clone(*dst)
		for _, m := range merged {
			for _, v := range pick(m) {
				if !slices.Contains(*dst, v) {
					*dst = append(*dst, v)
				}
			}
		}
		record(field, before, *dst, "")
	}
	union("emails", &out.Emails, func(c *Customer) []string { return c.Emails })
	union("phones", &out.Phones, func(c *Customer) []string { return c.Phones })
	union("tags", &out.Tags, func(c *Customer) []string { return c.Tags })

	attrs := maps.Clone(out.Attributes)
	if attrs == nil {
		attrs = map[string]string{}
	}
	for _, m := range merged {
		for k, v := range m.Attributes {
			if _, ok := attrs[k]; !ok {
				attrs[k] = v
			}
		}
	}
	if len(attrs) > 0 {
		record("attributes", out.Attributes, attrs, "")
		out.Attributes = attrs
	}
	best := out.ValueTier
	for _, m := range merged {
		if m.ValueTier != "" && (best == "" || m.ValueTier < best) {
			best = m.ValueTier
		}
	}
	record("value_tier", out.ValueTier, best, "")
	out.ValueTier = best

	points := out.Points
	for _, m := range merged {
		points += m.Points
	}
	record("loyalty_points", out.Points, points, "")
	out.Points = points
	for _, m := range merged {
		out.MergedIDs = append(out.MergedIDs, m.ID)
		out.MergedIDs = append(out.MergedIDs, m.MergedIDs...)
	}
	return out, fields
}

func stringField(c *Customer, field string) string {
	switch field {
	case "company":
		return c.Company
	case "title":
		return c.Title
	case "birthday":
		return c.Birthday
	case "account_manager":
		return c.AccountManager
	case "external_id":
		return c.ExternalID
	}
	return ""
}
