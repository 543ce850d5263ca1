package customer

import "github.com/kehu-crm/kehu/pkg/resource"

// Order is a sort order for List: one of SortFields.
type Order = resource.Order

// Cursor is a keyset position: the sort key and id of the last row seen.
type Cursor struct {
	Key string `json:"k,omitempty"`
	ID  string `json:"i,omitempty"`
}

// ListQuery selects customers.
type ListQuery struct {
	Filter      string   // AIP-160, compiled by the store against its allow-list
	Scope       string   // when set, only customers managed by Scope or unassigned
	Hidden      []string // filter fields the caller may not name (masked data)
	Order       Order
	After       Cursor
	Limit       int
	ShowDeleted bool
}

// SearchQuery is a free-text search.
type SearchQuery struct {
	Text  string
	Scope string
	// VisibleOnly matches name and company only, not the contacts a masked
	// caller does not see.
	VisibleOnly bool
	Offset      int
	Limit       int
}

// ImportRow is one validated import row.
type ImportRow struct {
	Row      int64
	Customer *Customer
}

// ImportOutcome is what happened to one import row.
type ImportOutcome struct {
	Row     int64
	ID      string
	Created bool
	// Field and Err are set when the row was rejected by the store (e.g. its
	// e-mail belongs to another customer).
	Field string
	Err   string
}
