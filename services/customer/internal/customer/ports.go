package customer

import (
	"context"
	"time"

	"github.com/kehu-crm/kehu/pkg/event"
	"github.com/kehu-crm/kehu/pkg/idempotency"
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
	// FindDuplicates returns groups of likely duplicates among live
	// customers, only those with customerID in them unless it is "".
	FindDuplicates(ctx context.Context, customerID string, offset, limit int) ([]DuplicateGroup, error)
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
	// RefreshStatistics updates the query planner's view of the customers
	// after a bulk load.
	RefreshStatistics(ctx context.Context) error
	// InTx runs fn in one transaction, retrying it on serialization failures.
	InTx(ctx context.Context, fn func(ctx context.Context, tx Tx) error) error
}

// Tx is what a use case may do inside a transaction.
type Tx interface {
	// Request ids (AIP-155) are claimed and completed in the transaction
	// of the change they guard.
	idempotency.Keys
	// Get reads a customer by id in the transaction, without locking it.
	Get(ctx context.Context, id string) (*Customer, error)
	// Lock reads a customer by id for update, following merges.
	Lock(ctx context.Context, id string) (*Customer, error)
	// ClaimContacts makes customer id the owner of those of the e-mails and
	// phones no live customer owns, and returns the id of the owner of the
	// first one another customer owns ("" when none is). Ownership is a
	// unique key: of two concurrent claims of one contact, one wins.
	ClaimContacts(ctx context.Context, id string, emails, phones []string) (string, error)
	// ReleaseContacts gives up customer id's ownership of the e-mails and
	// phones (after it stopped listing them); each passes to the oldest
	// other live customer listing it.
	ReleaseContacts(ctx context.Context, id string, emails, phones []string) error
	// ReleaseAllContacts does the same for every contact of the customers
	// (deleted or merged away).
	ReleaseAllContacts(ctx context.Context, ids []string) error
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
	// MarkMerged marks customers as merged into survivor and soft-deletes
	// them; it returns them as stored afterwards.
	MarkMerged(ctx context.Context, ids []string, survivorID string, at time.Time) ([]*Customer, error)
	// InsertMerge records what a merge changed, for UnmergeCustomer.
	InsertMerge(ctx context.Context, m *MergeRecord) error
	// TakeMerge locks and removes the record of the merge of mergedID; it
	// is NOT_FOUND when there is none.
	TakeMerge(ctx context.Context, mergedID string) (*MergeRecord, error)
	// Unmark makes a merged customer's own row unmerged again, and points
	// the customers merged into it before (which had followed it to
	// survivorID) back at it; it returns the row's current revision.
	Unmark(ctx context.Context, restored *Customer, survivorID string) (int64, error)
	// Purge erases a customer, the customers merged into it, their history
	// and their events' payloads; it returns the erased ids.
	Purge(ctx context.Context, id string) ([]string, error)
	// Emit writes events to the outbox.
	Emit(ctx context.Context, events ...event.Event) error
}

// Cache keeps recently read customers. Implementations fail open: a broken
// cache behaves like an empty one.
type Cache interface {
	// Load returns the customer with id from the cache, or reads it with
	// load and caches it, unless an Invalidate of id came in between (the
	// read may then predate the change and is not cached).
	Load(ctx context.Context, id string, load func(ctx context.Context, id string) (*Customer, error)) (*Customer, error)
	// Invalidate drops customers after a change committed.
	Invalidate(ctx context.Context, ids ...string)
}
