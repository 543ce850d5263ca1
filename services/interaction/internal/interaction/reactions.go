package interaction

import (
	"context"
	"time"

	"github.com/kehu-crm/kehu/pkg/customerref"
	"github.com/kehu-crm/kehu/pkg/event"
)

// CustomerEvent is an event of the customer service, as other services
// need it.
type CustomerEvent = customerref.Event

// Customer event types the service reacts to.
const (
	CustomerMerged       = customerref.EventMerged
	CustomerUnmerged     = customerref.EventUnmerged
	CustomerPurged       = customerref.EventPurged
	CustomerStageChanged = customerref.EventStageChanged
)

// CustomerStream is the consumer-cursor name of the customer event stream.
const CustomerStream = "customer"

// CustomerCursor returns the last customer event handled.
func (s *Service) CustomerCursor(ctx context.Context) (int64, error) {
	return s.store.Cursor(ctx, CustomerStream)
}

// ApplyCustomerEvents reacts to customer events, each exactly once: the
// cursor moves to the last in the same transaction as their effects, and
// an event at or below the cursor (redelivered after a reconnect) changes
// nothing.
//
//   - any event carrying the customer updates the local projection;
//   - a merge moves the merged customers' interactions and follow-ups to
//     the survivor, and an unmerge moves them back;
//   - a purge erases the customer's interactions, follow-ups and their
//     event payloads.
func (s *Service) ApplyCustomerEvents(ctx context.Context, events []CustomerEvent) error {
	return s.store.InTx(ctx, func(ctx context.Context, tx Tx) error {
		return customerref.ApplyNew(ctx, tx, CustomerStream, events, applyCustomerEvent)
	})
}

func applyCustomerEvent(ctx context.Context, tx Tx, e CustomerEvent) error {
	if e.Snapshot != nil {
		if err := tx.UpsertCustomer(ctx, *e.Snapshot, e.Sequence); err != nil {
			return err
		}
	}
	switch e.Type {
	case CustomerStageChanged:
		if e.Stage != "" {
			if err := tx.SetCustomerStage(ctx, e.CustomerID, e.Stage, e.Sequence); err != nil {
				return err
			}
		}
	case CustomerMerged:
		if e.SurvivorID != "" && len(e.MergedIDs) > 0 {
			ni, nf, err := tx.MoveCustomerRecords(ctx, e.SurvivorID, e.MergedIDs, e.Sequence)
			if err != nil {
				return err
			}
			if err := emitMoved(ctx, tx, e.SurvivorID, e.MergedIDs, ni, nf); err != nil {
				return err
			}
		}
	case CustomerUnmerged:
		if e.SurvivorID != "" && e.RestoredID != "" {
			ni, nf, err := tx.ReturnCustomerRecords(ctx, e.SurvivorID, e.RestoredID)
			if err != nil {
				return err
			}
			if err := emitMoved(ctx, tx, e.RestoredID, []string{e.SurvivorID}, ni, nf); err != nil {
				return err
			}
		}
	case CustomerPurged:
		if _, err := tx.EraseCustomer(ctx, e.CustomerID); err != nil {
			return err
		}
	}
	return nil
}

// emitMoved tells followers that records moved to customer to from the
// customers in from (a merge, or an unmerge moving them back).
func emitMoved(ctx context.Context, tx Tx, to string, from []string, interactions, followUps int64) error {
	if interactions+followUps == 0 {
		return nil
	}
	return tx.Emit(ctx, event.Event{
		Type: EventRecordsMoved, Subject: CustomerName(to), Actor: workerActor,
		Data: RecordsMoved{SurvivorID: to, MergedIDs: from, Interactions: interactions, FollowUps: followUps, Time: time.Now().UTC()},
	})
}

// CustomerSnapshot is a customer as the customer service's events carry
// it, for the projection.
type CustomerSnapshot = customerref.Snapshot
