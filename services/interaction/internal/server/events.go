package server

import (
	"fmt"

	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/timestamppb"

	interactionv1 "github.com/kehu-crm/kehu/pkg/api/kehu/interaction/v1"
	"github.com/kehu-crm/kehu/pkg/event"
	"github.com/kehu-crm/kehu/services/interaction/internal/interaction"
)

// EncodeEvent turns a domain event into its published payload (the
// *Payload messages of interaction_service.proto).
func EncodeEvent(e event.Event) (proto.Message, error) {
	switch d := e.Data.(type) {
	case *interaction.Interaction:
		return &interactionv1.InteractionChangedPayload{Interaction: interactionToProto(d)}, nil
	case *interaction.FollowUp:
		return &interactionv1.FollowUpChangedPayload{FollowUp: followUpToProto(d)}, nil
	case interaction.RecordsMoved:
		p := &interactionv1.CustomerRecordsMovedPayload{
			Survivor: interaction.CustomerName(d.SurvivorID), InteractionsMoved: d.Interactions,
			FollowUpsMoved: d.FollowUps, Time: timestamppb.New(d.Time),
		}
		for _, id := range d.MergedIDs {
			p.Merged = append(p.Merged, interaction.CustomerName(id))
		}
		return p, nil
	}
	return nil, fmt.Errorf("no payload for %s event data %T", e.Type, e.Data)
}
