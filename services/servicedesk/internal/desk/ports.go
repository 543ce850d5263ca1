package desk

import (
	"context"
	"time"

	"github.com/kehu-crm/kehu/pkg/customerref"
	"github.com/kehu-crm/kehu/pkg/event"
	"github.com/kehu-crm/kehu/pkg/idempotency"
	"github.com/kehu-crm/kehu/pkg/resource"
)

// Store is the persistence the domain needs. Reads outside a transaction
// go through Store; every change goes through InTx, so that a change, its
// history, its idempotency record and its events commit together. Missing
// rows are errs NotFound errors.
type Store interface {
	InTx(ctx context.Context, fn func(ctx context.Context, tx Tx) error) error

	GetTicket(ctx context.Context, id string) (*Ticket, error)
	ListTickets(ctx context.Context, q TicketQuery) ([]*Ticket, error)
	ListChanges(ctx context.Context, ticketID string, after int64, limit int) ([]Change, []int64, error)
	GetComment(ctx context.Context, ticketID, id string) (*Comment, error)
	ListComments(ctx context.Context, ticketID string, after Cursor, limit int) ([]*Comment, error)
	GetQueue(ctx context.Context, id string) (*Queue, error)
	ListQueues(ctx context.Context, after Cursor, limit int) ([]*Queue, error)
	// QueuesOf returns the ids of the queues user is a member of.
	QueuesOf(ctx context.Context, user string) ([]string, error)
	GetPolicy(ctx context.Context, id string) (*Policy, error)
	GetSurvey(ctx context.Context, id string) (*Survey, error)
	// SurveyByToken finds a survey by the hash of its link's token.
	SurveyByToken(ctx context.Context, tokenHash []byte) (*Survey, error)
	ListSurveys(ctx context.Context, q SurveyQuery) ([]*Survey, error)
	// Cursor returns the last handled sequence of an event stream.
	Cursor(ctx context.Context, stream string) (int64, error)
	// QueueStats computes the KPIs of the selected tickets.
	QueueStats(ctx context.Context, q StatsQuery) (*QueueStats, error)
	// OwedVisits returns up to limit follow-up visits not delivered yet,
	// oldest first.
	OwedVisits(ctx context.Context, limit int) ([]Visit, error)
	ListPolicies(ctx context.Context, after Cursor, limit int) ([]*Policy, error)
}

// Tx is what a use case may do inside a transaction.
type Tx interface {
	// Request ids (AIP-155) are claimed and completed in the transaction
	// of the change they guard.
	idempotency.Keys

	LockTicket(ctx context.Context, id string) (*Ticket, error)
	InsertTicket(ctx context.Context, t *Ticket) error
	UpdateTicket(ctx context.Context, t *Ticket) error
	// AddChanges appends to a ticket's history.
	AddChanges(ctx context.Context, ticketID string, changes ...Change) error
	InsertComment(ctx context.Context, c *Comment) error

	// Queues: LockQueue serialises assignment to its members across
	// replicas; OpenTickets counts each member's active tickets.
	LockQueue(ctx context.Context, id string) (*Queue, error)
	RoutingQueues(ctx context.Context) ([]*Queue, error)
	OpenTickets(ctx context.Context, users []string) (map[string]int, error)
	// LastAssigned and SetLastAssigned keep the round-robin position of a
	// queue among members with equally few tickets.
	LastAssigned(ctx context.Context, queueID string) (string, error)
	SetLastAssigned(ctx context.Context, queueID, user string) error
	InsertQueue(ctx context.Context, q *Queue) error
	UpdateQueue(ctx context.Context, q *Queue) error
	// DeleteQueue fails with FAILED_PRECONDITION while active tickets wait
	// in it.
	DeleteQueue(ctx context.Context, id string) error

	// Policies: MatchingPolicies returns the policies in precedence order.
	Policies(ctx context.Context) ([]*Policy, error)
	LockPolicy(ctx context.Context, id string) (*Policy, error)
	InsertPolicy(ctx context.Context, p *Policy) error
	UpdatePolicy(ctx context.Context, p *Policy) error
	DeletePolicy(ctx context.Context, id string) error

	InsertSurvey(ctx context.Context, v *Survey, tokenHash []byte) error
	LockSurveyByToken(ctx context.Context, tokenHash []byte) (*Survey, error)
	UpdateSurvey(ctx context.Context, v *Survey) error

	// OweVisit records a follow-up visit owed to a customer; a ticket owes
	// at most one per reason.
	OweVisit(ctx context.Context, v Visit) error
	// ForgetVisit drops a delivered visit.
	ForgetVisit(ctx context.Context, v Visit) error

	// RaiseAlerts records, at most limit, the SLA alerts due as of now and
	// not raised before (running clocks past their risk or due time, of
	// live tickets), and returns them.
	RaiseAlerts(ctx context.Context, now time.Time, limit int) ([]Alert, error)

	// Following the customer service: MoveTickets re-points the merged
	// customers' tickets to the survivor, remembering where each came from
	// (sequence is the merge event's); ReturnTickets moves back those whose
	// latest move came from restored; EraseCustomer deletes everything
	// about a purged customer, including the payloads of its tickets'
	// events.
	MoveTickets(ctx context.Context, survivorID string, mergedIDs []string, sequence int64) (int64, error)
	ReturnTickets(ctx context.Context, survivorID, restoredID string) (int64, error)
	EraseCustomer(ctx context.Context, customerID string) error
	Cursor(ctx context.Context, stream string) (int64, error)
	SetCursor(ctx context.Context, stream string, sequence int64) error

	// Emit writes events to the outbox.
	Emit(ctx context.Context, events ...event.Event) error
}

// TicketQuery selects tickets.
type TicketQuery struct {
	Filter      string
	ShowDeleted bool
	// Scope limits an agent to tickets assigned to them, created by them,
	// or waiting in one of their queues; nil for callers who see all.
	Scope  *Scope
	Order  Order
	After  Cursor
	Limit  int
	Hidden []string
}

// Scope is an agent's reach.
type Scope struct {
	User   string
	Queues []string
}

// Order is a ticket sort order: one of SortFields.
type Order = resource.Order

// Cursor is a keyset position: the sort key and id of the last row seen.
type Cursor struct {
	Key string `json:"k,omitempty"`
	ID  string `json:"i,omitempty"`
}

// Customers looks customers up in the customer service, as the caller.
type Customers = customerref.Lookup
