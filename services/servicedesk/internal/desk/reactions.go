package desk

import (
	"context"

	"github.com/kehu-crm/kehu/pkg/customerref"
	"github.com/kehu-crm/kehu/pkg/event"
)

// CustomerStream is the consumer-cursor name of the customer event stream.
const CustomerStream = "customer"

// EventTicketsMoved tells followers that a customer merge (or unmerge)
// moved tickets from some customers to another.
const EventTicketsMoved = "ticket.customer_moved"

// TicketsMoved is the data of ticket.customer_moved events.
type TicketsMoved struct {
	To      string
	From    []string
	Tickets int64
}

// CustomerCursor returns the last customer event handled.
func (s *Service) CustomerCursor(ctx context.Context) (int64, error) {
	return s.store.Cursor(ctx, CustomerStream)
}

// ApplyCustomerEvents reacts to customer events, each exactly once: the cursor
// moves in the same transaction as the effects, and an event at or below
// the cursor (redelivered after a reconnect) changes nothing.
//
//   - a merge moves the merged customers' tickets to the survivor, and an
//     unmerge moves back exactly those that came from the restored one;
//   - a purge erases the customer's tickets with their history, comments,
//     surveys and the payloads of their events.
func (s *Service) ApplyCustomerEvents(ctx context.Context, events []customerref.Event) error {
	return s.store.InTx(ctx, func(ctx context.Context, tx Tx) error {
		return customerref.ApplyNew(ctx, tx, CustomerStream, events, applyCustomerEvent)
	})
}

func applyCustomerEvent(ctx context.Context, tx Tx, e customerref.Event) error {
	switch e.Type {
	case customerref.EventMerged:
		if e.SurvivorID != "" && len(e.MergedIDs) > 0 {
			n, err := tx.MoveTickets(ctx, e.SurvivorID, e.MergedIDs, e.Sequence)
			if err != nil {
				return err
			}
			if err := emitMoved(ctx, tx, e.SurvivorID, e.MergedIDs, n); err != nil {
				return err
			}
		}
	case customerref.EventUnmerged:
		if e.SurvivorID != "" && e.RestoredID != "" {
			n, err := tx.ReturnTickets(ctx, e.SurvivorID, e.RestoredID)
			if err != nil {
				return err
			}
			if err := emitMoved(ctx, tx, e.RestoredID, []string{e.SurvivorID}, n); err != nil {
				return err
			}
		}
	case customerref.EventPurged:
		if err := tx.EraseCustomer(ctx, e.CustomerID); err != nil {
			return err
		}
	}
	return nil
}

func emitMoved(ctx context.Context, tx Tx, to string, from []string, n int64) error {
	if n == 0 {
		return nil
	}
	return tx.Emit(ctx, event.Event{Type: EventTicketsMoved, Subject: CustomerName(to), Actor: "kehu-servicedesk",
		Data: TicketsMoved{To: to, From: from, Tickets: n}})
}
