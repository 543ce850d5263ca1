package desk

// Event types of the service desk (subjects are resource names).
const (
	EventTicketCreated       = "ticket.created"
	EventTicketUpdated       = "ticket.updated"
	EventTicketStatusChanged = "ticket.status_changed"
	EventTicketAssigned      = "ticket.assigned"
	EventTicketEscalated     = "ticket.escalated"
	EventTicketDeleted       = "ticket.deleted"
	EventTicketUndeleted     = "ticket.undeleted"
	EventCommentCreated      = "comment.created"
)

// TicketChanged is the data of ticket.* events: the ticket after the
// change and the history entries the change wrote.
type TicketChanged struct {
	Ticket  *Ticket
	Changes []Change
}

// CommentCreated is the data of comment.created events.
type CommentCreated struct {
	Comment    *Comment
	CustomerID string
}
