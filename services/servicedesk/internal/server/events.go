package server

import (
	"fmt"

	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/timestamppb"

	sdv1 "github.com/kehu-crm/kehu/pkg/api/kehu/servicedesk/v1"
	"github.com/kehu-crm/kehu/pkg/event"
	"github.com/kehu-crm/kehu/services/servicedesk/internal/desk"
)

// EncodeEvent turns a domain event into its published payload (the
// *Payload messages of servicedesk_service.proto). Internal comments are
// published without their body: event consumers (webhooks, analytics)
// must not carry staff notes out of the service.
func EncodeEvent(e event.Event) (proto.Message, error) {
	switch d := e.Data.(type) {
	case desk.TicketChanged:
		p := &sdv1.TicketChangedPayload{Ticket: ticketToProto(d.Ticket)}
		for _, c := range d.Changes {
			p.Changes = append(p.Changes, changeToProto(c))
		}
		return p, nil
	case desk.SLAAlert:
		return &sdv1.SlaAlertPayload{Ticket: ticketToProto(d.Ticket), Target: d.Target, Kind: d.Kind, DueTime: timestamppb.New(d.Due)}, nil
	case desk.SurveyIssue:
		return &sdv1.SurveyIssuedPayload{Survey: surveyToProto(d.Survey), Token: d.Token}, nil
	case desk.SurveyAnswer:
		return &sdv1.SurveyAnsweredPayload{Survey: surveyToProto(d.Survey)}, nil
	case desk.TicketsMoved:
		p := &sdv1.TicketsMovedPayload{To: desk.CustomerName(d.To), TicketsMoved: d.Tickets}
		for _, id := range d.From {
			p.From = append(p.From, desk.CustomerName(id))
		}
		return p, nil
	case desk.CommentCreated:
		c := commentToProto(d.Comment)
		if d.Comment.Visibility == desk.Internal {
			c.Body = ""
		}
		return &sdv1.CommentCreatedPayload{Ticket: desk.TicketName(d.Comment.TicketID), Comment: c, Customer: desk.CustomerName(d.CustomerID)}, nil
	}
	return nil, fmt.Errorf("no payload for %s event data %T", e.Type, e.Data)
}
