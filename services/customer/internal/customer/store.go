package customer

import (
	"context"
	"time"
)

// Store is the persistence the domain needs. Reads outside a transaction go
// through Store; every change goes through InTx so that the change, its
// history, its idempotency record and its outbox events commit together.
//
// Not-found conditions are reported as errs NotFound errors; unique-key
// conflicts as errs AlreadyExists.
type Store interface {
	// Get returns a customer by id, following merges: the id of a customer
	// merged into another returns the survivor.
	Get(ctx context.Context, id string) (*Customer, error)
	// GetMany returns the customers with the given ids (following merges),
	// keyed by the id asked for; missing ids are absent from the map.
	GetMany(ctx context.Context, ids []string) (map[string]*Customer, error)
	// List returns up to q.Limit customers for a list query.
	List(ctx context.Context, q ListQuery) ([]*Customer, error)
	// Search returns customers matching free text, best first.
	Search(ctx context.Context, q SearchQuery) ([]*Customer, error)
	// FindDuplicates returns groups of likely duplicates among live customers.
	FindDuplicates(ctx context.Context, offset, limit int) ([]DuplicateGroup, error)
	// ListTransitions returns a customer's transitions, newest first, after
	// the given cursor (empty for the first page).
	ListTransitions(ctx context.Context, customerID string, after Cursor, limit int) ([]Transition, error)
	// GetTransition returns one lifecycle transition by id.
	GetTransition(ctx context.Context, id string) (*Transition, error)
	// GetLedgerEntry returns one points ledger entry by id.
	GetLedgerEntry(ctx context.Context, id string) (*LedgerEntry, error)
	// ListLedger returns a customer's points ledger, newest first.
	ListLedger(ctx context.Context, customerID string, after Cursor, limit int) ([]LedgerEntry, error)
	// Import upserts one batch of valid rows by external id.
	Import(ctx context.Context, rows []ImportRow, actor string) ([]ImportOutcome, error)
	// InTx runs fn in one transaction, retrying it on serialization failures.
	InTx(ctx context.Context, fn func(ctx context.Context, tx Tx) error) error
}

// Tx is what a use case may do inside a transaction.
type Tx interface {
	// ClaimRequest records an idempotency key (see package idempotency).
	// replayed=true returns the earlier result, and the caller must not
	// change anything; the same key with another fingerprint is an error.
	ClaimRequest(ctx context.Context, method, requestID string, fingerprint []byte) (result string, replayed bool, err error)
	// CompleteRequest stores the result (a resource id) of a claimed key.
	CompleteRequest(ctx context.Context, method, requestID, result string) error
	// Lock reads a customer by id for update, following merges.
	Lock(ctx context.Context, id string) (*Customer, error)
	// ContactOwner returns the id of a live customer other than exceptID that
	// has one of the e-mails or phones, or "".
	ContactOwner(ctx context.Context, emails, phones []string, exceptID string) (string, error)
	// ExternalIDTaken reports whether a live customer other than exceptID has
	// the external id.
	ExternalIDTaken(ctx context.Context, externalID, exceptID string) (bool, error)
	// Insert stores a new customer.
	Insert(ctx context.Context, c *Customer) error
	// Update stores every mutable field of c, which must have been locked.
	Update(ctx context.Context, c *Customer) error
	// InsertTransition records a lifecycle transition.
	InsertTransition(ctx context.Context, t *Transition) error
	// InsertLedger records a points ledger entry.
	InsertLedger(ctx context.Context, e *LedgerEntry) error
	// AssignWhere sets the account manager of every live customer matching
	// the filter (and, when scope is set, managed by scope or unassigned),
	// returning their ids.
	AssignWhere(ctx context.Context, filter, scope, manager string, at time.Time) ([]string, error)
	// MarkMerged marks customers as merged into survivor and soft-deletes them.
	MarkMerged(ctx context.Context, ids []string, survivorID string, at time.Time) error
	// Purge erases a customer, the customers merged into it, their history
	// and their events' payloads; it returns the erased ids.
	Purge(ctx context.Context, id string) ([]string, error)
	// Emit writes events to the outbox.
	Emit(ctx context.Context, events ...Event) error
}

// Order is a sort order for List.
type Order struct {
	Field string // display_name, company, create_time, update_time, loyalty_points
	Desc  bool
}

// Cursor is a keyset position: the sort key and id of the last row seen.
type Cursor struct {
	Key string `json:"k,omitempty"`
	ID  string `json:"i,omitempty"`
}

// ListQuery selects customers.
type ListQuery struct {
	Filter      string // AIP-160, compiled by the store against its allow-list
	Scope       string // when set, only customers managed by Scope or unassigned
	Order       Order
	After       Cursor
	Limit       int
	ShowDeleted bool
}

// SearchQuery is a free-text search.
type SearchQuery struct {
	Text   string
	Scope  string
	Offset int
	Limit  int
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

// Event types written to the outbox.
const (
	EventCreated         = "customer.created"
	EventUpdated         = "customer.updated"
	EventDeleted         = "customer.deleted"
	EventUndeleted       = "customer.undeleted"
	EventMerged          = "customer.merged"
	EventPurged          = "customer.purged"
	EventStageChanged    = "customer.stage_changed"
	EventPointsChanged   = "customer.points_changed"
	EventManagerAssigned = "customer.account_manager_assigned"
)

// Event is a domain event. Data is one of *Customer, MergedData, PurgedData,
// *Transition or PointsData; the store encodes it with the codec it was
// given, so the domain stays free of wire formats.
type Event struct {
	Type    string
	Subject string
	Actor   string
	Data    any
}

// MergedData is the data of a customer.merged event.
type MergedData struct {
	SurvivorID string
	MergedIDs  []string
}

// PurgedData is the data of a customer.purged event.
type PurgedData struct {
	ID string
}

// PointsData is the data of a customer.points_changed event.
type PointsData struct {
	Entry      *LedgerEntry
	Membership Membership
}
