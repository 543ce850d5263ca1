// Package savedview holds the use cases of saved views: customer lists
// (filter, search, order, columns) a user keeps to come back to. A view
// belongs to the subject who created it; to anyone else it does not exist,
// so another user's view answers NOT_FOUND, never PERMISSION_DENIED.
package savedview

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/google/uuid"

	"github.com/kehu-crm/kehu/pkg/auth"
	"github.com/kehu-crm/kehu/pkg/errs"
	"github.com/kehu-crm/kehu/pkg/idempotency"
	"github.com/kehu-crm/kehu/pkg/pagetoken"
	"github.com/kehu-crm/kehu/pkg/resource"
	"github.com/kehu-crm/kehu/services/customer/internal/customer"
)

// View is a saved view.
type View struct {
	ID          string
	Owner       string
	DisplayName string
	Filter      string
	Query       string
	OrderBy     string
	Columns     []string
	Revision    int64
	CreateTime  time.Time
	UpdateTime  time.Time
}

// Name returns the view's resource name.
func (v *View) Name() string { return Name(v.ID) }

// Etag is the opaque version tag clients send back to detect lost updates.
func (v *View) Etag() string { return fmt.Sprintf("%d", v.Revision) }

// Name returns the resource name of the view with id.
func Name(id string) string { return "savedViews/" + id }

// ParseName returns the id in a "savedViews/{id}" name given in field.
func ParseName(field, name string) (string, error) {
	return resource.ParseID(field, name, "savedViews", "saved view")
}

// Store is the persistence of saved views. Every read and change is scoped
// to an owner: a view of another owner is NOT_FOUND.
type Store interface {
	// CheckFilter reports whether filter is one ListCustomers accepts.
	CheckFilter(filter string) error
	// Get returns owner's view id.
	Get(ctx context.Context, owner, id string) (*View, error)
	// List returns up to limit of owner's views by lower-cased display
	// name, after the one named after ("" for the first page).
	List(ctx context.Context, owner, after string, limit int) ([]*View, error)
	// InTx runs fn in one transaction.
	InTx(ctx context.Context, fn func(ctx context.Context, tx Tx) error) error
}

// Tx is what a use case may do inside a transaction. Insert and Update
// report a display name the owner already uses as ALREADY_EXISTS.
type Tx interface {
	idempotency.Keys
	// Lock reads owner's view id for update.
	Lock(ctx context.Context, owner, id string) (*View, error)
	Insert(ctx context.Context, v *View) error
	Update(ctx context.Context, v *View) error
	Delete(ctx context.Context, owner, id string) error
}

// Service implements the saved view use cases.
type Service struct {
	store Store
	now   func() time.Time
}

// New returns a Service; now nil means time.Now.
func New(store Store, now func() time.Time) *Service {
	if now == nil {
		now = time.Now
	}
	return &Service{store: store, now: func() time.Time { return now().UTC().Truncate(time.Microsecond) }}
}

// Limits of a view.
const (
	maxDisplayName  = 100
	maxQuery        = 200
	maxColumns      = 30
	defaultPageSize = 50
	maxPageSize     = 200
)

// fields are the update_mask paths of a view.
var fields = resource.Fields{
	Updatable:  []string{"display_name", "filter", "query", "order_by", "columns"},
	OutputOnly: []string{"name", "owner", "create_time", "update_time", "etag"},
}

// validate reports every bad field of v at once, named under prefix.
func (s *Service) validate(v *View, prefix string) error {
	var bad errs.Violations
	v.DisplayName = strings.TrimSpace(v.DisplayName)
	if n := utf8.RuneCountInString(v.DisplayName); n == 0 || n > maxDisplayName {
		bad.Add(prefix+"display_name", "must be 1 to %d characters, got %d", maxDisplayName, n)
	}
	if err := s.store.CheckFilter(v.Filter); err != nil {
		bad.Add(prefix+"filter", "%s", message(err))
	}
	if n := utf8.RuneCountInString(v.Query); n > maxQuery {
		bad.Add(prefix+"query", "must be at most %d characters, got %d", maxQuery, n)
	}
	if _, err := customer.ParseOrderBy(v.OrderBy); err != nil {
		bad.Add(prefix+"order_by", "%s", message(err))
	}
	if len(v.Columns) > maxColumns {
		bad.Add(prefix+"columns", "at most %d columns, got %d", maxColumns, len(v.Columns))
	}
	for i, c := range v.Columns {
		if !slices.Contains(customer.Fields(), c) {
			bad.Add(fmt.Sprintf("%scolumns[%d]", prefix, i), "%q is not a customer field; one of %s", c, strings.Join(customer.Fields(), ", "))
		} else if slices.Index(v.Columns, c) < i {
			bad.Add(fmt.Sprintf("%scolumns[%d]", prefix, i), "%q is listed twice", c)
		}
	}
	return bad.Err()
}

// message is the text of a validation error, without the field it named.
func message(err error) string {
	if e, ok := errs.As(err); ok {
		return e.Message
	}
	return err.Error()
}

// Create stores a new view owned by the caller.
func (s *Service) Create(ctx context.Context, v *View, requestID string) (*View, error) {
	a, err := auth.AccessFrom(ctx)
	if err != nil {
		return nil, err
	}
	if v == nil {
		return nil, errs.InvalidField("saved_view", "is required")
	}
	next := *v
	next.Columns = slices.Clone(v.Columns)
	if err := s.validate(&next, "saved_view."); err != nil {
		return nil, err
	}
	id, _, err := idempotency.Run(ctx, s.store.InTx, "CreateSavedView", requestID, v, func(ctx context.Context, tx Tx) (string, error) {
		next.ID, next.Owner, next.Revision = uuid.Must(uuid.NewV7()).String(), a.Actor(), 1
		next.CreateTime = s.now()
		next.UpdateTime = next.CreateTime
		return next.ID, tx.Insert(ctx, &next)
	})
	if err != nil {
		return nil, err
	}
	return s.store.Get(ctx, a.Actor(), id)
}

// Get returns one of the caller's views.
func (s *Service) Get(ctx context.Context, name string) (*View, error) {
	a, err := auth.AccessFrom(ctx)
	if err != nil {
		return nil, err
	}
	id, err := ParseName("name", name)
	if err != nil {
		return nil, err
	}
	return s.store.Get(ctx, a.Actor(), id)
}

// Page is a page of views.
type Page struct {
	Views         []*View
	NextPageToken string
}

// cursor is where a page ends.
type cursor struct {
	Key string `json:"k"`
}

// List returns a page of the caller's views.
func (s *Service) List(ctx context.Context, pageSize int32, pageToken string) (Page, error) {
	a, err := auth.AccessFrom(ctx)
	if err != nil {
		return Page{}, err
	}
	size, err := pagetoken.Size(pageSize, defaultPageSize, maxPageSize)
	if err != nil {
		return Page{}, err
	}
	// Bound to the owner: one user's token does not page through another's.
	query := "savedViews\x00" + a.Actor()
	var after cursor
	if pageToken != "" {
		if err := pagetoken.Decode(pageToken, query, &after); err != nil {
			return Page{}, err
		}
	}
	views, err := s.store.List(ctx, a.Actor(), after.Key, size+1)
	if err != nil {
		return Page{}, err
	}
	var p Page
	if len(views) > size {
		views = views[:size]
		p.NextPageToken = pagetoken.Encode(query, cursor{Key: strings.ToLower(views[size-1].DisplayName)})
	}
	p.Views = views
	return p, nil
}

// UpdateInput is the input of Update.
type UpdateInput struct {
	// Name is the view's resource name; View holds the new values.
	Name      string
	View      *View
	Etag      string
	Paths     []string
	RequestID string
}

// Update changes the fields of one of the caller's views named in Paths.
func (s *Service) Update(ctx context.Context, in UpdateInput) (*View, error) {
	a, err := auth.AccessFrom(ctx)
	if err != nil {
		return nil, err
	}
	if in.View == nil {
		return nil, errs.InvalidField("saved_view", "is required")
	}
	id, err := ParseName("saved_view.name", in.Name)
	if err != nil {
		return nil, err
	}
	paths, err := fields.CheckMask(in.Paths)
	if err != nil {
		return nil, err
	}
	_, _, err = idempotency.Run(ctx, s.store.InTx, "UpdateSavedView", in.RequestID, in, func(ctx context.Context, tx Tx) (string, error) {
		cur, err := tx.Lock(ctx, a.Actor(), id)
		if err != nil {
			return "", err
		}
		if err := resource.CheckEtag(in.Etag, cur.Etag(), cur.Name()); err != nil {
			return "", err
		}
		next := *cur
		for _, p := range paths {
			switch p {
			case "display_name":
				next.DisplayName = in.View.DisplayName
			case "filter":
				next.Filter = in.View.Filter
			case "query":
				next.Query = in.View.Query
			case "order_by":
				next.OrderBy = in.View.OrderBy
			case "columns":
				next.Columns = slices.Clone(in.View.Columns)
			}
		}
		if err := s.validate(&next, "saved_view."); err != nil {
			return "", err
		}
		next.Revision++
		next.UpdateTime = s.now()
		return id, tx.Update(ctx, &next)
	})
	if err != nil {
		return nil, err
	}
	return s.store.Get(ctx, a.Actor(), id)
}

// Delete removes one of the caller's views for good: a view holds no
// business data worth an undelete.
func (s *Service) Delete(ctx context.Context, name, etag string) error {
	a, err := auth.AccessFrom(ctx)
	if err != nil {
		return err
	}
	id, err := ParseName("name", name)
	if err != nil {
		return err
	}
	return s.store.InTx(ctx, func(ctx context.Context, tx Tx) error {
		cur, err := tx.Lock(ctx, a.Actor(), id)
		if err != nil {
			return err
		}
		if err := resource.CheckEtag(etag, cur.Etag(), name); err != nil {
			return err
		}
		return tx.Delete(ctx, a.Actor(), id)
	})
}
