// Package desk is the service desk's domain: tickets and their workflow,
// comments, queues with automatic assignment, and SLA policies whose
// clocks run in business time (calendar.go). It speaks neither SQL nor
// protobuf: the store and the gRPC handlers adapt to it.
package desk

import (
	"fmt"
	"strconv"
	"time"
)

// Ticket statuses.
const (
	StatusNew             = "NEW"
	StatusOpen            = "OPEN"
	StatusPendingCustomer = "PENDING_CUSTOMER"
	StatusResolved        = "RESOLVED"
	StatusClosed          = "CLOSED"
)

// Ticket types; complaints need a root cause to be resolved.
const (
	TypeInquiry          = "INQUIRY"
	TypeComplaint        = "COMPLAINT"
	TypeAfterSales       = "AFTER_SALES"
	TypeTechnicalSupport = "TECHNICAL_SUPPORT"
	TypeFeedback         = "FEEDBACK"
)

// Enumerations, in their proto order.
var (
	Types      = []string{TypeInquiry, TypeComplaint, TypeAfterSales, TypeTechnicalSupport, TypeFeedback}
	Channels   = []string{"HOTLINE", "EMAIL", "ONLINE_CHAT", "WEB_FORM", "SOCIAL_MEDIA", "IN_PERSON"}
	Priorities = []string{"LOW", "NORMAL", "HIGH", "URGENT"}
	Statuses   = []string{StatusNew, StatusOpen, StatusPendingCustomer, StatusResolved, StatusClosed}
	ValueTiers = []string{"A", "B", "C"}
)

// Ticket is a customer's request or complaint.
type Ticket struct {
	ID             string
	CustomerID     string
	Type           string
	Channel        string
	Subject        string
	Description    string
	Priority       string
	Tags           []string
	QueueID        string
	Assignee       string
	Escalation     int
	Interaction    string
	Status         string
	ValueTier      string
	PolicyID       string
	FirstResponse  Clock
	Resolution     Clock
	RootCause      string
	ResolutionNote string
	Creator        string
	// Survey is the answer to the latest survey, once given.
	Survey         *Result
	FirstResponded *time.Time
	ResolveTime    *time.Time
	CloseTime      *time.Time
	Revision       int64
	CreateTime     time.Time
	UpdateTime     time.Time
	DeleteTime     *time.Time
	// Next are the statuses the reading caller may move it to (set by
	// the reads, not stored).
	Next []string
}

// Name is the ticket's resource name.
func (t *Ticket) Name() string { return TicketName(t.ID) }

// Etag is the ticket's strong etag: its revision.
func (t *Ticket) Etag() string { return strconv.Quote(strconv.FormatInt(t.Revision, 10)) }

// Active reports a ticket still being worked.
func (t *Ticket) Active() bool {
	return t.Status == StatusNew || t.Status == StatusOpen || t.Status == StatusPendingCustomer
}

// Change is one entry of a ticket's history.
type Change struct {
	Field, From, To, Actor string
	Time                   time.Time
}

// Visibilities of comments.
const (
	Public   = "PUBLIC"
	Internal = "INTERNAL"
)

// Comment is a reply to the customer or a note between staff.
type Comment struct {
	ID         string
	TicketID   string
	Author     string
	Visibility string
	Body       string
	CreateTime time.Time
}

// Member is an agent working a queue.
type Member struct {
	User      string
	Available bool
}

// Queue holds tickets for its members.
type Queue struct {
	ID              string
	DisplayName     string
	Description     string
	Members         []Member
	RouteTypes      []string
	RouteChannels   []string
	RouteValueTiers []string
	RoutingOrder    int
	ComplaintQueue  bool
	Revision        int64
	CreateTime      time.Time
	UpdateTime      time.Time
}

// Etag is the queue's strong etag.
func (q *Queue) Etag() string { return strconv.Quote(strconv.FormatInt(q.Revision, 10)) }

// Routes reports a queue with a routing rule (a non-empty list).
func (q *Queue) Routes() bool {
	return len(q.RouteTypes)+len(q.RouteChannels)+len(q.RouteValueTiers) > 0
}

// Policy is an SLA policy.
type Policy struct {
	ID                  string
	DisplayName         string
	Priorities          []string
	Types               []string
	ValueTiers          []string
	Precedence          int
	FirstResponseTarget time.Duration
	ResolutionTarget    time.Duration
	Calendar            Calendar
	Revision            int64
	CreateTime          time.Time
	UpdateTime          time.Time
}

// Etag is the policy's strong etag.
func (p *Policy) Etag() string { return strconv.Quote(strconv.FormatInt(p.Revision, 10)) }

// Resource names.
func TicketName(id string) string          { return "tickets/" + id }
func CommentName(ticket, id string) string { return fmt.Sprintf("tickets/%s/comments/%s", ticket, id) }
func QueueName(id string) string           { return "queues/" + id }
func PolicyName(id string) string          { return "slaPolicies/" + id }
func CustomerName(id string) string        { return "customers/" + id }
