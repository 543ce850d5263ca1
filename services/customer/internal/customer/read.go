package customer

import (
	"context"
	"fmt"
	"strings"

	"github.com/kehu-crm/kehu/pkg/auth"
	"github.com/kehu-crm/kehu/pkg/errs"
	"github.com/kehu-crm/kehu/pkg/pagetoken"
)

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
		Filter: in.Filter, Scope: a.Scope(), Hidden: hiddenFrom(a), Order: order, After: after, Limit: size + 1, ShowDeleted: in.ShowDeleted,
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
	rows, err := s.store.Search(ctx, SearchQuery{
		Text: strings.ToLower(text), Scope: a.Scope(), VisibleOnly: a.Masked(), Offset: cur.Offset, Limit: size + 1,
	})
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
