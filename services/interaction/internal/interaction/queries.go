package interaction

import "time"

// Cursor is a keyset position: the sort key and id of the last row seen.
type Cursor struct {
	Time time.Time `json:"t"`
	ID   string    `json:"i"`
}

// ListQuery selects interactions or follow-ups.
type ListQuery struct {
	// CustomerID limits to one customer; "" lists across customers.
	CustomerID  string
	Filter      string
	ShowDeleted bool
	// Scope limits an agent to records of customers they manage or that
	// are unassigned, and records they handle themselves.
	Scope string
	// Hidden are filter fields the caller may not name (masked data).
	Hidden []string
	After  Cursor
	Limit  int
}
