package server

import (
	"fmt"

	"google.golang.org/protobuf/proto"

	customerv1 "github.com/kehu-crm/kehu/pkg/api/kehu/customer/v1"
	"github.com/kehu-crm/kehu/pkg/event"
	"github.com/kehu-crm/kehu/services/customer/internal/customer"
)

// EncodeEvent turns a domain event into its published payload; the store
// writes it to the outbox. The payload types are part of the API (see the
// *Payload messages in customer_service.proto), so consumers decode them
// with the generated code.
func EncodeEvent(e event.Event) (proto.Message, error) {
	switch d := e.Data.(type) {
	case *customer.Customer:
		return &customerv1.CustomerChangedPayload{Customer: customerToProto(d)}, nil
	case customer.MergedData:
		p := &customerv1.CustomersMergedPayload{Survivor: customer.Name(d.SurvivorID)}
		for _, id := range d.MergedIDs {
			p.Merged = append(p.Merged, customer.Name(id))
		}
		return p, nil
	case customer.UnmergedData:
		return &customerv1.CustomerUnmergedPayload{Survivor: customer.Name(d.SurvivorID), Restored: customer.Name(d.RestoredID)}, nil
	case customer.PurgedData:
		return &customerv1.CustomerPurgedPayload{Customer: customer.Name(d.ID)}, nil
	case *customer.Transition:
		return &customerv1.LifecycleStageChangedPayload{Customer: customer.Name(d.CustomerID), Transition: transitionToProto(d)}, nil
	case customer.PointsData:
		return &customerv1.PointsChangedPayload{
			Customer:       customer.Name(d.Entry.CustomerID),
			Entry:          ledgerEntryToProto(d.Entry),
			MembershipTier: membershipToProto(d.Membership),
		}, nil
	}
	return nil, fmt.Errorf("no payload for %s event data %T", e.Type, e.Data)
}
