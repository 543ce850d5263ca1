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
		// Snapshots are written together, up to the next event that does
		// more than carry one (whose effects must follow them).
		var snapshots []CustomerAt
		flush := func() error {
			if len(snapshots) == 0 {
				return nil
			}
			err := tx.UpsertCustomers(ctx, snapshots)
			snapshots = snapshots[:0]
			return err
		}
		err := customerref.ApplyNew(ctx, tx, CustomerStream, events, func(ctx context.Context, tx Tx, e CustomerEvent) error {
			if e.Snapshot != nil {
				snapshots = append(snapshots, CustomerAt{CustomerSnapshot: *e.Snapshot, Sequence: e.Sequence})
			}
			if !hasEffects(e) {
				return nil
			}
			if err := flush(); err != nil {
				return err
			}
			return applyCustomerEvent(ctx, tx, e)
		})
		if err != nil {
			return err
		}
		return flush()
	})
}

// CustomerAt is a customer snapshot with the sequence of the event that
// carried it.
type CustomerAt struct {
	CustomerSnapshot
	Sequence int64
}

// hasEffects reports whether an event does more than carry a snapshot.
func hasEffects(e CustomerEvent) bool {
	switch e.Type {
	case CustomerStageChanged, CustomerMerged, CustomerUnmerged, CustomerPurged:
		return true
	}
	return false
}

// applyCustomerEvent applies what an event does beyond its snapshot.
func applyCustomerEvent(ctx context.Context, tx Tx, e CustomerEvent) error {
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
