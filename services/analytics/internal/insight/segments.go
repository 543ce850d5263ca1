package insight

import (
	"context"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/kehu-crm/kehu/pkg/auth"
	"github.com/kehu-crm/kehu/pkg/errs"
	"github.com/kehu-crm/kehu/pkg/event"
	"github.com/kehu-crm/kehu/pkg/pagetoken"
	"github.com/kehu-crm/kehu/pkg/resource"
)

// Segment is a group of customers defined by a filter over their facts.
type Segment struct {
	ID          string
	DisplayName string
	Description string
	Filter      string
	Builtin     bool
	// Personal segments' filters name personal data (the birthday): they
	// are hidden from masked callers.
	Personal   bool
	Members    int64
	Revision   int64
	CreateTime time.Time
	UpdateTime time.Time
}

// Etag is the segment's strong etag.
func (s *Segment) Etag() string { return strconv.Quote(strconv.FormatInt(s.Revision, 10)) }

// SegmentName is a segment's resource name.
func SegmentName(id string) string { return "segments/" + id }

// Change is a customer entering or leaving a segment.
type Change struct {
	SegmentID, CustomerID string
	Entered               bool
}

// Event types of membership changes (subject: the customer).
const (
	EventSegmentEntered = "segment.entered"
	EventSegmentExited  = "segment.exited"
)

// Membership is what the hot lookup answers from: the customer's account
// manager (for the agent rule) and segments.
type Membership struct {
	Known          bool
	AccountManager string
	Segments       []string
	// Personal are the personal segments among Segments.
	Personal []string
}

// visible is what a caller may see of m: masked callers not the personal
// segments.
func visible(a auth.Access, m Membership) Membership {
	if !a.Masked() || len(m.Personal) == 0 {
		return m
	}
	out := m
	out.Segments = slices.DeleteFunc(slices.Clone(m.Segments), func(id string) bool { return slices.Contains(m.Personal, id) })
	out.Personal = nil
	return out
}

// Cache keeps memberships close: Memberships answers from the cache,
// loading through load on a miss; Invalidate drops customers' entries
// after a commit changed them.
type Cache interface {
	Memberships(ctx context.Context, customerID string, load func(context.Context) (Membership, error)) (Membership, error)
	ManyMemberships(ctx context.Context, customerIDs []string, load func(context.Context, []string) (map[string]Membership, error)) ([]Membership, error)
	Invalidate(ctx context.Context, customerIDs ...string)
}

var slugPattern = regexp.MustCompile(`^[a-z][a-z0-9-]{1,62}$`)

func parseSegmentName(field, name string) (string, error) {
	id, ok := strings.CutPrefix(name, "segments/")
	if !ok || !slugPattern.MatchString(id) {
		return "", errs.InvalidField(field, "must be a name like \"segments/{id}\", got %q", name)
	}
	return id, nil
}

func parseCustomerName(field, name string) (string, error) {
	id, ok := strings.CutPrefix(name, "customers/")
	if !ok || !uuidPattern.MatchString(id) {
		return "", errs.InvalidField(field, "must be a name like \"customers/{id}\", got %q", name)
	}
	return id, nil
}

// emitChanges publishes membership changes in the transaction that made
// them.
func emitChanges(ctx context.Context, tx Tx, changes []Change) error {
	events := make([]event.Event, len(changes))
	for n, c := range changes {
		t := EventSegmentExited
		if c.Entered {
			t = EventSegmentEntered
		}
		events[n] = event.Event{Type: t, Subject: CustomerName(c.CustomerID), Actor: "kehu-analytics", Data: c}
	}
	return tx.Emit(ctx, events...)
}

func customersOf(changes []Change) []string {
	out := make([]string, len(changes))
	for i, c := range changes {
		out[i] = c.CustomerID
	}
	slices.Sort(out)
	return slices.Compact(out)
}

// CreateSegment creates a segment and evaluates it in one pass.
func (s *Service) CreateSegment(ctx context.Context, id string, in *Segment) (*Segment, error) {
	if in == nil {
		return nil, errs.InvalidField("segment", "is required")
	}
	var v errs.Violations
	if !slugPattern.MatchString(id) {
		v.Add("segment_id", "must be 2-63 lower-case letters, digits or '-', starting with a letter, got %q", id)
	}
	if strings.TrimSpace(in.DisplayName) == "" || len(in.DisplayName) > 200 {
		v.Add("segment.display_name", "is required (at most 200 characters)")
	}
	if err := s.store.CheckFilter(in.Filter); err != nil {
		v.Add("segment.filter", "%s", filterProblem(err))
	}
	if err := v.Err(); err != nil {
		return nil, err
	}
	seg := &Segment{ID: id, DisplayName: in.DisplayName, Description: in.Description, Filter: in.Filter, Revision: 1}
	if err := s.evaluate(ctx, func(ctx context.Context, tx Tx) ([]string, error) { return nil, tx.InsertSegment(ctx, seg) }, seg); err != nil {
		return nil, err
	}
	return s.store.GetSegment(ctx, id)
}

// filterProblem is the description of a filter error without its field.
func filterProblem(err error) string {
	if e, ok := errs.As(err); ok && len(e.Violations) > 0 {
		return e.Violations[0].Description
	}
	return err.Error()
}

// evaluate runs change and re-evaluates seg's members in one transaction,
// then drops the cache entries of the customers whose membership moved.
func (s *Service) evaluate(ctx context.Context, change func(context.Context, Tx) ([]string, error), seg *Segment) error {
	var (
		changes []Change
		stale   []string
	)
	err := s.store.InTx(ctx, func(ctx context.Context, tx Tx) error {
		if err := tx.LockEvaluation(ctx); err != nil {
			return err
		}
		var err error
		if stale, err = change(ctx, tx); err != nil {
			return err
		}
		if changes, err = tx.EvaluateSegment(ctx, seg.ID, seg.Filter); err != nil {
			return err
		}
		return emitChanges(ctx, tx, changes)
	})
	if err == nil {
		s.cache.Invalidate(ctx, append(stale, customersOf(changes)...)...)
		err = s.store.RecordSegmentSizes(ctx)
	}
	return err
}

// GetSegment returns a segment.
func (s *Service) GetSegment(ctx context.Context, name string) (*Segment, error) {
	id, err := parseSegmentName("name", name)
	if err != nil {
		return nil, err
	}
	return s.segment(ctx, id, name)
}

// segment reads a segment the caller may see: NOT_FOUND for a personal
// one and a masked caller, as for one that does not exist.
func (s *Service) segment(ctx context.Context, id, name string) (*Segment, error) {
	a, err := auth.AccessFrom(ctx)
	if err != nil {
		return nil, err
	}
	seg, err := s.store.GetSegment(ctx, id)
	if err != nil {
		return nil, notFoundAs(err, name)
	}
	if seg.Personal && a.Masked() {
		return nil, errs.NotFound(name)
	}
	return seg, nil
}

func notFoundAs(err error, name string) error {
	if errs.Is(err, errs.KindNotFound) {
		return errs.NotFound(name)
	}
	return err
}

// ListSegments lists segments by id.
func (s *Service) ListSegments(ctx context.Context, pageSize int32, pageToken string) ([]*Segment, string, error) {
	a, err := auth.AccessFrom(ctx)
	if err != nil {
		return nil, "", err
	}
	size, err := pagetoken.Size(pageSize, 50, 1000)
	if err != nil {
		return nil, "", err
	}
	var after string
	if pageToken != "" {
		if err := pagetoken.Decode(pageToken, "segments", &after); err != nil {
			return nil, "", err
		}
	}
	rows, err := s.store.ListSegments(ctx, after, size+1, !a.Masked())
	if err != nil {
		return nil, "", err
	}
	next := ""
	if len(rows) > size {
		rows = rows[:size]
		next = pagetoken.Encode("segments", rows[size-1].ID)
	}
	return rows, next, nil
}

var segmentFields = resource.Fields{
	Updatable:  []string{"display_name", "description", "filter"},
	OutputOnly: []string{"name", "builtin", "personal", "member_count", "create_time", "update_time", "etag"},
}

// UpdateSegment changes a segment; a new filter is evaluated at once.
func (s *Service) UpdateSegment(ctx context.Context, name, etag string, in *Segment, paths []string) (*Segment, error) {
	if in == nil {
		return nil, errs.InvalidField("segment", "is required")
	}
	id, err := parseSegmentName("segment.name", name)
	if err != nil {
		return nil, err
	}
	if paths, err = segmentFields.CheckMask(paths); err != nil {
		return nil, err
	}
	cur, err := s.store.GetSegment(ctx, id)
	if err != nil {
		return nil, notFoundAs(err, name)
	}
	if cur.Builtin {
		return nil, errs.FailedPrecondition("SEGMENT_BUILTIN", "%s is built in; create your own segment instead", name)
	}
	if err := resource.CheckEtag(etag, cur.Etag(), name); err != nil {
		return nil, err
	}
	next := *cur
	for _, p := range paths {
		switch p {
		case "display_name":
			next.DisplayName = in.DisplayName
		case "description":
			next.Description = in.Description
		case "filter":
			next.Filter = in.Filter
		}
	}
	if strings.TrimSpace(next.DisplayName) == "" {
		return nil, errs.InvalidField("segment.display_name", "is required")
	}
	if err := s.store.CheckFilter(next.Filter); err != nil {
		return nil, errs.InvalidField("segment.filter", "%s", filterProblem(err))
	}
	next.Revision++
	if err := s.evaluate(ctx, func(ctx context.Context, tx Tx) ([]string, error) { return tx.UpdateSegment(ctx, &next, cur.Revision) }, &next); err != nil {
		return nil, err
	}
	return s.store.GetSegment(ctx, id)
}

// DeleteSegment deletes a segment of one's own.
func (s *Service) DeleteSegment(ctx context.Context, name, etag string) error {
	id, err := parseSegmentName("name", name)
	if err != nil {
		return err
	}
	cur, err := s.store.GetSegment(ctx, id)
	if err != nil {
		return notFoundAs(err, name)
	}
	if cur.Builtin {
		return errs.FailedPrecondition("SEGMENT_BUILTIN", "%s is built in and cannot be deleted", name)
	}
	if err := resource.CheckEtag(etag, cur.Etag(), name); err != nil {
		return err
	}
	var members []string
	err = s.store.InTx(ctx, func(ctx context.Context, tx Tx) error {
		var err error
		members, err = tx.DeleteSegment(ctx, id)
		return err
	})
	if err == nil {
		s.cache.Invalidate(ctx, members...)
	}
	return err
}

// membership loads a customer's membership from the cache.
func (s *Service) membership(ctx context.Context, a auth.Access, field, name string) (Membership, error) {
	id, err := parseCustomerName(field, name)
	if err != nil {
		return Membership{}, err
	}
	m, err := s.cache.Memberships(ctx, id, func(ctx context.Context) (Membership, error) { return s.store.Membership(ctx, id) })
	if err != nil {
		return Membership{}, err
	}
	if !m.Known || !a.CanSee(m.AccountManager) {
		return Membership{}, errs.NotFound(name)
	}
	return visible(a, m), nil
}

// GetCustomerSegments returns the segments a customer is in.
func (s *Service) GetCustomerSegments(ctx context.Context, customer string) ([]string, error) {
	a, err := auth.AccessFrom(ctx)
	if err != nil {
		return nil, err
	}
	m, err := s.membership(ctx, a, "customer", customer)
	return m.Segments, err
}

// CheckMembership reports whether a customer is in a segment.
func (s *Service) CheckMembership(ctx context.Context, customer, segment string) (bool, error) {
	a, err := auth.AccessFrom(ctx)
	if err != nil {
		return false, err
	}
	id, err := parseSegmentName("segment", segment)
	if err != nil {
		return false, err
	}
	m, err := s.membership(ctx, a, "customer", customer)
	return slices.Contains(m.Segments, id), err
}

// ListSegmentMembers pages a segment's members (agents see their own
// customers and the pool among them).
func (s *Service) ListSegmentMembers(ctx context.Context, parent string, pageSize int32, pageToken string) ([]string, string, error) {
	a, err := auth.AccessFrom(ctx)
	if err != nil {
		return nil, "", err
	}
	id, err := parseSegmentName("parent", parent)
	if err != nil {
		return nil, "", err
	}
	if _, err := s.segment(ctx, id, parent); err != nil {
		return nil, "", err
	}
	size, err := pagetoken.Size(pageSize, 50, 1000)
	if err != nil {
		return nil, "", err
	}
	query := "members\x00" + parent + "\x00" + a.Scope()
	var after string
	if pageToken != "" {
		if err := pagetoken.Decode(pageToken, query, &after); err != nil {
			return nil, "", err
		}
	}
	ids, err := s.store.ListMembers(ctx, id, a.Scope(), after, size+1)
	if err != nil {
		return nil, "", err
	}
	next := ""
	if len(ids) > size {
		ids = ids[:size]
		next = pagetoken.Encode(query, ids[size-1])
	}
	return ids, next, nil
}
