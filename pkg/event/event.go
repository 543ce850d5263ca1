// Package event is the domain side of Kehu's domain events: what a use case
// records about a change. It knows nothing of protobuf or PostgreSQL; a
// service's gRPC layer supplies the codec that turns Data into the published
// payload, and pkg/outbox writes it in the change's transaction.
package event

// Event is a domain event.
type Event struct {
	// Type is dotted, e.g. "customer.created".
	Type string
	// Subject is the resource name the event is about.
	Subject string
	// Actor is who caused the change.
	Actor string
	// Data is the service's own value (a resource or an event-specific
	// struct); the codec knows what each service publishes for it.
	Data any
}
