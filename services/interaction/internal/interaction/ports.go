package interaction

import (
	"context"
	"time"

	"github.com/kehu-crm/kehu/pkg/customerref"
	"github.com/kehu-crm/kehu/pkg/event"
	"github.com/kehu-crm/kehu/pkg/idempotency"
)

// Store is the persistence the domain needs. Reads outside a transaction go
// through Store; every change goes through InTx, so that a change, its
// idempotency record and its outbox events commit together. Missing rows are
// errs NotFound errors.
type Store interface {
	InTx(ctx context.Context, fn func(ctx context.Context, tx Tx) error) error

	GetInteraction(ctx context.Context, id string) (*Interaction, error)
	ListInteractions(ctx context.Context, q ListQuery) ([]*Interaction, error)
	GetFollowUp(ctx context.Context, id string) (*FollowUp, error)
	ListFollowUps(ctx context.Context, q ListQuery) ([]*FollowUp, error)
	GetCareRule(ctx context.Context, id string) (*CareRule, error)
	ListCareRules(ctx context.Context, afterID string, limit int) ([]*CareRule, error)
	// ActiveCareRules returns every active rule.
	ActiveCareRules(ctx context.Context) ([]*CareRule, error)
	GetTouchpoint(ctx context.Context, id string) (*Touchpoint, error)
	ListTouchpoints(ctx context.Context, afterID string, limit int) ([]*Touchpoint, error)
	// CheckCustomerFilter compiles a care rule's customer filter without
	// running it.
	CheckCustomerFilter(filter string) error
	// CustomerManager returns the account manager of a customer as last
	// seen in the customer service's events ("" for unassigned); known is
	// false when the projection has not seen the customer.
	CustomerManager(ctx context.Context, customerID string) (manager string, known bool, err error)
	// Cursor returns the last handled sequence of an event stream.
	Cursor(ctx context.Context, stream string) (int64, error)
}

// Tx is what a use case may do inside a transaction.
type Tx interface {
	// Request ids (AIP-155) are claimed and completed in the transaction
	// of the change they guard.
	idempotency.Keys

	LockInteraction(ctx context.Context, id string) (*Interaction, error)
	InsertInteractions(ctx context.Context, is ...*Interaction) error
	// ImportInteractions stores imported rows in bulk and returns one
	// outcome per row, in order: rows whose external id is stored already
	// are skipped, and rows of customers the projection does not know (or
	// that are deleted or erased) refused; a merged customer's rows go to
	// the survivor.
	ImportInteractions(ctx context.Context, rows []ImportRow) ([]ImportOutcome, error)
	UpdateInteraction(ctx context.Context, i *Interaction) error

	LockFollowUp(ctx context.Context, id string) (*FollowUp, error)
	InsertFollowUp(ctx context.Context, f *FollowUp) error
	UpdateFollowUp(ctx context.Context, f *FollowUp) error

	LockCareRule(ctx context.Context, id string) (*CareRule, error)
	InsertCareRule(ctx context.Context, r *CareRule) error
	UpdateCareRule(ctx context.Context, r *CareRule) error
	DeleteCareRule(ctx context.Context, id string) error

	LockTouchpoint(ctx context.Context, id string) (*Touchpoint, error)
	InsertTouchpoint(ctx context.Context, t *Touchpoint) error
	UpdateTouchpoint(ctx context.Context, t *Touchpoint) error
	// DeleteTouchpoint fails with FAILED_PRECONDITION while interactions
	// reference it.
	DeleteTouchpoint(ctx context.Context, id string) error

	// SweepMissed marks up to limit planned follow-ups due before cutoff as
	// missed, and returns them.
	SweepMissed(ctx context.Context, cutoff, now time.Time, limit int) ([]*FollowUp, error)
	// GenerateCare creates the care follow-ups of rule for occurrences in
	// [from, to] (dates in loc) that do not exist yet, at most limit, and
	// returns them. Exactly once per rule, customer and occurrence.
	GenerateCare(ctx context.Context, rule *CareRule, from, to time.Time, loc *time.Location, now time.Time, limit int) ([]*FollowUp, error)

	// Customer projection, fed by the customer service's events.
	// UpsertCustomers records snapshots (each with its event's sequence);
	// one older than what is recorded changes nothing.
	UpsertCustomers(ctx context.Context, cs []CustomerAt) error
	SetCustomerStage(ctx context.Context, customerID, stage string, sequence int64) error
	// MoveCustomerRecords re-parents interactions and follow-ups of merged
	// customers to the survivor, remembering where each came from; sequence
	// is the merge event's.
	MoveCustomerRecords(ctx context.Context, survivorID string, mergedIDs []string, sequence int64) (interactions, followUps int64, err error)
	// ReturnCustomerRecords reverses the moves of an unmerged customer's
	// records to the survivor.
	ReturnCustomerRecords(ctx context.Context, survivorID, restoredID string) (interactions, followUps int64, err error)
	// EraseCustomer deletes everything about a customer, including the
	// payloads of its events in the outbox.
	EraseCustomer(ctx context.Context, customerID string) (int64, error)
	Cursor(ctx context.Context, stream string) (int64, error)
	SetCursor(ctx context.Context, stream string, sequence int64) error

	// Emit writes events to the outbox.
	Emit(ctx context.Context, events ...event.Event) error
}

// Customers looks customers up in the customer service, as the caller.
type Customers = customerref.Lookup
