package customer

import (
	"context"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/google/uuid"

	"github.com/kehu-crm/kehu/pkg/auth"
	"github.com/kehu-crm/kehu/pkg/errs"
	"github.com/kehu-crm/kehu/pkg/event"
	"github.com/kehu-crm/kehu/pkg/idempotency"
	"github.com/kehu-crm/kehu/pkg/pagetoken"
	"github.com/kehu-crm/kehu/pkg/resource"
)

// Service implements the customer use cases.
type Service struct {
	store Store
	cache Cache
	norm  Normalizer
	tiers Tiers
	now   func() time.Time
}

// Config configures a Service.
type Config struct {
	// DefaultRegion reads phone numbers written without a country code.
	DefaultRegion string
	// Tiers are the membership thresholds.
	Tiers Tiers
	// Now is the clock; nil means time.Now.
	Now func() time.Time
}

// New returns a Service.
func New(store Store, cache Cache, cfg Config) *Service {
	now := cfg.Now
	if now == nil {
		now = time.Now
	}
	if len(cfg.Tiers) == 0 {
		cfg.Tiers = DefaultTiers()
	}
	return &Service{
		store: store,
		cache: cache,
		norm:  Normalizer{DefaultRegion: cfg.DefaultRegion, Now: now},
		tiers: cfg.Tiers,
		now:   func() time.Time { return now().UTC().Truncate(time.Microsecond) },
	}
}

// Page size limits (AIP-158).
const (
	defaultPageSize   = 50
	maxPageSize       = 1000
	defaultSearchSize = 20
	maxSearchSize     = 100
	maxSearchOffset   = 1000
	maxBatchGet       = 1000
	maxMerge          = 20
)

// CreateInput is the input of Create.
type CreateInput struct {
	Customer        *Customer
	RequestID       string
	AllowDuplicates bool
}

// Create creates a customer.
func (s *Service) Create(ctx context.Context, in CreateInput) (*Customer, error) {
	a, err := auth.AccessFrom(ctx)
	if err != nil {
		return nil, err
	}
	if in.Customer == nil {
		return nil, errs.InvalidField("customer", "is required")
	}
	c := in.Customer.Clone()
	if err := s.norm.Normalize(c, "customer"); err != nil {
		return nil, err
	}
	if a.Scope() != "" && c.AccountManager == "" {
		// An agent's new customer is theirs unless they say otherwise.
		c.AccountManager = a.Actor()
	}
	if err := a.CheckAssignee(c.AccountManager, "customer.account_manager"); err != nil {
		return nil, err
	}
	in.Customer = c
	id, _, err := idempotency.Run(ctx, s.store.InTx, "CreateCustomer", in.RequestID, in, func(ctx context.Context, tx Tx) (string, error) {
		if !in.AllowDuplicates {
			if owner, err := tx.ContactOwner(ctx, c.Emails, c.Phones, ""); err != nil {
				return "", err
			} else if owner != "" {
				return "", duplicateError(owner)
			}
		}
		now := s.now()
		c.ID = newID()
		c.Points = 0
		c.Membership = s.tiers.For(0)
		c.Revision = 1
		c.CreateTime, c.UpdateTime, c.DeleteTime = now, now, nil
		c.MergedIDs = nil
		if err := tx.Insert(ctx, c); err != nil {
			return "", err
		}
		return c.ID, tx.Emit(ctx, event.Event{Type: EventCreated, Subject: c.Name(), Actor: a.Actor(), Data: c})
	})
	if err != nil {
		return nil, err
	}
	return s.read(ctx, a, id)
}

func duplicateError(ownerID string) error {
	return errs.AlreadyExists("DUPLICATE_CUSTOMER",
		"a customer with this e-mail or phone already exists: %s (set allow_duplicates to create anyway)", Name(ownerID)).
		WithMetadata("existing_customer", Name(ownerID))
}

func newID() string { return uuid.Must(uuid.NewV7()).String() }

// read loads a customer for the caller after a change, bypassing the cache.
func (s *Service) read(ctx context.Context, a auth.Access, id string) (*Customer, error) {
	c, err := s.store.Get(ctx, id)
	if err != nil {
		return nil, err
	}
	return view(a, c), nil
}

// load returns a customer the caller may see, from the cache if possible.
func (s *Service) load(ctx context.Context, a auth.Access, name, field string) (*Customer, error) {
	id, err := ParseName(field, name)
	if err != nil {
		return nil, err
	}
	c, err := s.cache.Load(ctx, id, s.store.Get)
	if errs.Is(err, errs.KindNotFound) {
		return nil, errs.NotFound(name)
	}
	if err != nil {
		return nil, err
	}
	if !a.CanSee(c.AccountManager) {
		return nil, errs.NotFound(name)
	}
	return c, nil
}

// Get returns one customer.
func (s *Service) Get(ctx context.Context, name string) (*Customer, error) {
	a, err := auth.AccessFrom(ctx)
	if err != nil {
		return nil, err
	}
	c, err := s.load(ctx, a, name, "name")
	if err != nil {
		return nil, err
	}
	return view(a, c), nil
}

// BatchGet returns customers in the order asked; if any is missing or hidden
// the whole call fails (AIP-231).
func (s *Service) BatchGet(ctx context.Context, names []string) ([]*Customer, error) {
	a, err := auth.AccessFrom(ctx)
	if err != nil {
		return nil, err
	}
	if len(names) > maxBatchGet {
		return nil, errs.InvalidField("names", "at most %d names, got %d", maxBatchGet, len(names))
	}
	ids := make([]string, len(names))
	for i, n := range names {
		if ids[i], err = ParseName(fmt.Sprintf("names[%d]", i), n); err != nil {
			return nil, err
		}
	}
	found, err := s.store.GetMany(ctx, ids)
	if err != nil {
		return nil, err
	}
	out := make([]*Customer, len(ids))
	for i, id := range ids {
		c, ok := found[id]
		if !ok || !a.CanSee(c.AccountManager) {
			return nil, errs.NotFound(names[i])
		}
		out[i] = view(a, c)
	}
	return out, nil
}

// ListInput is the input of List.
type ListInput struct {
	PageSize    int32
	PageToken   string
	Filter      string
	OrderBy     string
	ShowDeleted bool
}

// Page is one page of customers.
type Page struct {
	Customers     []*Customer
	NextPageToken string
}

var sortFields = []string{"create_time", "update_time", "display_name", "company", "loyalty_points"}

// ParseOrderBy reads an AIP-132 order_by with one field.
func ParseOrderBy(s string) (Order, error) {
	s = strings.TrimSpace(s)
	if s == "" {
		return Order{Field: "create_time", Desc: true}, nil
	}
	parts := strings.Fields(s)
	o := Order{Field: parts[0]}
	switch {
	case len(parts) == 2 && parts[1] == "desc":
		o.Desc = true
	case len(parts) == 2 && parts[1] == "asc":
	case len(parts) != 1:
		return Order{}, errs.InvalidField("order_by", "must be one field optionally followed by \"desc\", got %q", s)
	}
	if !slices.Contains(sortFields, o.Field) {
		return Order{}, errs.InvalidField("order_by", "cannot sort by %q; one of %s", o.Field, strings.Join(sortFields, ", "))
	}
	return o, nil
}

// SortKey returns c's value of the order field, as stored in page cursors.
func SortKey(c *Customer, field string) string {
	switch field {
	case "update_time":
		return c.UpdateTime.Format(time.RFC3339Nano)
	case "display_name":
		return strings.ToLower(c.DisplayName)
	case "company":
		return strings.ToLower(c.Company)
	case "loyalty_points":
		return strconv.FormatInt(c.Points, 10)
	default:
		return c.CreateTime.Format(time.RFC3339Nano)
	}
}

// List lists customers.
func (s *Service) List(ctx context.Context, in ListInput) (Page, error) {
	a, err := auth.AccessFrom(ctx)
	if err != nil {
		return Page{}, err
	}
	size, err := pagetoken.Size(in.PageSize, defaultPageSize, maxPageSize)
	if err != nil {
		return Page{}, err
	}
	order, err := ParseOrderBy(in.OrderBy)
	if err != nil {
		return Page{}, err
	}
	// The token is bound to everything that shapes the result set, including
	// who asks: an agent's token must not page through a manager's view.
	query := fmt.Sprintf("list\x00%s\x00%s\x00%t\x00%s", in.Filter, in.OrderBy, in.ShowDeleted, a.Scope())
	var after Cursor
	if in.PageToken != "" {
		if err := pagetoken.Decode(in.PageToken, query, &after); err != nil {
			return Page{}, err
		}
	}
	rows, err := s.store.List(ctx, ListQuery{
		Filter: in.Filter, Scope: a.Scope(), Order: order, After: after, Limit: size + 1, ShowDeleted: in.ShowDeleted,
	})
	if err != nil {
		return Page{}, err
	}
	var p Page
	if len(rows) > size {
		rows = rows[:size]
		last := rows[size-1]
		p.NextPageToken = pagetoken.Encode(query, Cursor{Key: SortKey(last, order.Field), ID: last.ID})
	}
	p.Customers = make([]*Customer, len(rows))
	for i, c := range rows {
		p.Customers[i] = view(a, c)
	}
	return p, nil
}

// SearchInput is the input of Search.
type SearchInput struct {
	Query     string
	PageSize  int32
	PageToken string
}

// Search finds customers by free text.
func (s *Service) Search(ctx context.Context, in SearchInput) (Page, error) {
	a, err := auth.AccessFrom(ctx)
	if err != nil {
		return Page{}, err
	}
	text := strings.TrimSpace(in.Query)
	if l := len([]rune(text)); l < 2 || l > 200 {
		return Page{}, errs.InvalidField("query", "must be 2 to 200 characters")
	}
	size, err := pagetoken.Size(in.PageSize, defaultSearchSize, maxSearchSize)
	if err != nil {
		return Page{}, err
	}
	// Search results are ranked, not keyed, so pages are offsets into the
	// ranking; the depth is capped because deep ranked pages are useless.
	query := "search\x00" + text + "\x00" + a.Scope()
	var cur struct {
		Offset int `json:"o"`
	}
	if in.PageToken != "" {
		if err := pagetoken.Decode(in.PageToken, query, &cur); err != nil {
			return Page{}, err
		}
	}
	if phone, ok := NormalizePhone(text, s.norm.DefaultRegion); ok {
		text = phone
	}
	rows, err := s.store.Search(ctx, SearchQuery{Text: strings.ToLower(text), Scope: a.Scope(), Offset: cur.Offset, Limit: size + 1})
	if err != nil {
		return Page{}, err
	}
	var p Page
	if len(rows) > size {
		rows = rows[:size]
		if next := cur.Offset + size; next < maxSearchOffset {
			cur.Offset = next
			p.NextPageToken = pagetoken.Encode(query, cur)
		}
	}
	for _, c := range rows {
		p.Customers = append(p.Customers, view(a, c))
	}
	return p, nil
}

// Updatable fields, by their proto field path. Everything else is output
// only or changed through a dedicated method.
var updatable = []string{
	"kind", "display_name", "emails", "phones", "company", "title", "address",
	"address.street", "address.city", "address.region", "address.postal_code", "address.country_code",
	"birthday", "source", "value_tier", "need_profile", "account_manager", "tags", "attributes",
	"marketing_consent", "external_id",
}

// Fields changed only by their own methods, named in errors.
var dedicated = map[string]string{
	"lifecycle_stage": "TransitionLifecycleStage",
	"loyalty_points":  "AdjustPoints",
	"membership_tier": "AdjustPoints",
}

// UpdateInput is the input of Update.
type UpdateInput struct {
	Customer  *Customer
	Etag      string
	Paths     []string
	RequestID string
}

// Update changes the fields named in Paths.
func (s *Service) Update(ctx context.Context, in UpdateInput) (*Customer, error) {
	a, err := auth.AccessFrom(ctx)
	if err != nil {
		return nil, err
	}
	if in.Customer == nil {
		return nil, errs.InvalidField("customer", "is required")
	}
	name := Name(in.Customer.ID)
	paths, err := checkMask(in.Paths)
	if err != nil {
		return nil, err
	}
	var changedManager bool
	id, _, err := idempotency.Run(ctx, s.store.InTx, "UpdateCustomer", in.RequestID, in, func(ctx context.Context, tx Tx) (string, error) {
		cur, err := s.lockVisible(ctx, tx, a, in.Customer.ID)
		if err != nil {
			return "", err
		}
		if cur.Deleted() {
			return "", errs.FailedPrecondition("CUSTOMER_DELETED", "%s is deleted; undelete it first", name)
		}
		if err := resource.CheckEtag(in.Etag, cur.Etag(), name); err != nil {
			return "", err
		}
		next := cur.Clone()
		applyMask(next, in.Customer, paths)
		if err := s.norm.Normalize(next, "customer"); err != nil {
			return "", err
		}
		if next.AccountManager != cur.AccountManager {
			if err := a.CheckAssignee(next.AccountManager, "customer.account_manager"); err != nil {
				return "", err
			}
			changedManager = true
		}
		if !slices.Equal(next.Emails, cur.Emails) || !slices.Equal(next.Phones, cur.Phones) {
			if owner, err := tx.ContactOwner(ctx, newOnly(next.Emails, cur.Emails), newOnly(next.Phones, cur.Phones), cur.ID); err != nil {
				return "", err
			} else if owner != "" {
				return "", duplicateError(owner)
			}
		}
		if err := s.save(ctx, tx, next); err != nil {
			return "", err
		}
		evs := []event.Event{{Type: EventUpdated, Subject: name, Actor: a.Actor(), Data: next}}
		if changedManager {
			evs = append(evs, event.Event{Type: EventManagerAssigned, Subject: name, Actor: a.Actor(), Data: next})
		}
		return next.ID, tx.Emit(ctx, evs...)
	})
	if err != nil {
		return nil, err
	}
	s.cache.Invalidate(ctx, id)
	return s.read(ctx, a, id)
}

// newOnly returns the values in next that are not in cur: an update that
// keeps an already shared contact must not start failing.
func newOnly(next, cur []string) []string {
	var out []string
	for _, v := range next {
		if !slices.Contains(cur, v) {
			out = append(out, v)
		}
	}
	return out
}

func checkMask(paths []string) ([]string, error) {
	if len(paths) == 0 {
		return nil, errs.InvalidField("update_mask", "is required: name the fields to change, or \"*\" for all updatable fields")
	}
	if len(paths) == 1 && paths[0] == "*" {
		return updatable, nil
	}
	var v errs.Violations
	for _, p := range paths {
		switch {
		case slices.Contains(updatable, p):
		case dedicated[p] != "":
			v.Add("update_mask", "%q cannot be updated directly; use %s", p, dedicated[p])
		case isOutputOnly(p):
			v.Add("update_mask", "%q is output only", p)
		default:
			v.Add("update_mask", "unknown field %q", p)
		}
	}
	return paths, v.Err()
}

func isOutputOnly(p string) bool {
	switch p {
	case "name", "create_time", "update_time", "delete_time", "etag", "merged_customers":
		return true
	}
	return false
}

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

// lockVisible locks a customer the caller may change. Customers the caller
// may not change are reported as not found, like ones that do not exist.
func (s *Service) lockVisible(ctx context.Context, tx Tx, a auth.Access, id string) (*Customer, error) {
	c, err := tx.Lock(ctx, id)
	if err != nil {
		if errs.Is(err, errs.KindNotFound) {
			return nil, errs.NotFound(Name(id))
		}
		return nil, err
	}
	if !a.CanChange(c.AccountManager) {
		if a.CanSee(c.AccountManager) {
			return nil, errs.PermissionDenied("you may not change %s", c.Name())
		}
		return nil, errs.NotFound(Name(id))
	}
	return c, nil
}

// save bumps the revision and update time and stores c.
func (s *Service) save(ctx context.Context, tx Tx, c *Customer) error {
	c.Revision++
	c.UpdateTime = s.now()
	return tx.Update(ctx, c)
}

// Delete soft-deletes a customer.
func (s *Service) Delete(ctx context.Context, in resource.Mutation) (*Customer, error) {
	return s.setDeleted(ctx, in, true)
}

// Undelete restores a soft-deleted customer.
func (s *Service) Undelete(ctx context.Context, in resource.Mutation) (*Customer, error) {
	return s.setDeleted(ctx, in, false)
}

func (s *Service) setDeleted(ctx context.Context, in resource.Mutation, deleted bool) (*Customer, error) {
	a, err := auth.AccessFrom(ctx)
	if err != nil {
		return nil, err
	}
	id, err := ParseName("name", in.Name)
	if err != nil {
		return nil, err
	}
	method, evType := "DeleteCustomer", EventDeleted
	if !deleted {
		method, evType = "UndeleteCustomer", EventUndeleted
	}
	id, _, err = idempotency.Run(ctx, s.store.InTx, method, in.RequestID, in, func(ctx context.Context, tx Tx) (string, error) {
		c, err := s.lockVisible(ctx, tx, a, id)
		if err != nil {
			return "", err
		}
		if err := resource.CheckEtag(in.Etag, c.Etag(), c.Name()); err != nil {
			return "", err
		}
		if c.Deleted() == deleted {
			if deleted {
				return "", errs.FailedPrecondition("CUSTOMER_DELETED", "%s is already deleted", c.Name())
			}
			return "", errs.FailedPrecondition("CUSTOMER_NOT_DELETED", "%s is not deleted", c.Name())
		}
		if !deleted && c.ExternalID != "" {
			// The external id may have been reused while this one was deleted.
			if c.ExternalID, err = s.freeExternalID(ctx, tx, c); err != nil {
				return "", err
			}
		}
		c.DeleteTime = nil
		if deleted {
			now := s.now()
			c.DeleteTime = &now
		}
		if err := s.save(ctx, tx, c); err != nil {
			return "", err
		}
		return c.ID, tx.Emit(ctx, event.Event{Type: evType, Subject: c.Name(), Actor: a.Actor(), Data: c})
	})
	if err != nil {
		return nil, err
	}
	s.cache.Invalidate(ctx, id)
	return s.read(ctx, a, id)
}

// freeExternalID keeps an undeleted customer's external id unless a live
// customer took it meanwhile; then it is cleared rather than failing.
func (s *Service) freeExternalID(ctx context.Context, tx Tx, c *Customer) (string, error) {
	taken, err := tx.ExternalIDTaken(ctx, c.ExternalID, c.ID)
	if err != nil || taken {
		return "", err
	}
	return c.ExternalID, nil
}

// Purge erases a customer for good.
func (s *Service) Purge(ctx context.Context, in resource.Mutation) (string, error) {
	a, err := auth.AccessFrom(ctx)
	if err != nil {
		return "", err
	}
	id, err := ParseName("name", in.Name)
	if err != nil {
		return "", err
	}
	var erased []string
	_, _, err = idempotency.Run(ctx, s.store.InTx, "PurgeCustomer", in.RequestID, in, func(ctx context.Context, tx Tx) (string, error) {
		c, err := s.lockVisible(ctx, tx, a, id)
		if err != nil {
			return "", err
		}
		if err := resource.CheckEtag(in.Etag, c.Etag(), c.Name()); err != nil {
			return "", err
		}
		if erased, err = tx.Purge(ctx, c.ID); err != nil {
			return "", err
		}
		evs := make([]event.Event, 0, len(erased))
		for _, e := range erased {
			evs = append(evs, event.Event{Type: EventPurged, Subject: Name(e), Actor: a.Actor(), Data: PurgedData{ID: e}})
		}
		return c.ID, tx.Emit(ctx, evs...)
	})
	if err != nil {
		return "", err
	}
	s.cache.Invalidate(ctx, append(erased, id)...)
	return in.Name, nil
}
