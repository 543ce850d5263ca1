// Package sources connects the analytics service to the event streams of
// the customer, interaction and service-desk services: each stream becomes
// a follow.Source, and each event is decoded into the read model's terms.
package sources

import (
	"context"
	"strings"
	"time"

	"google.golang.org/grpc"

	eventv1 "github.com/kehu-crm/kehu/pkg/api/kehu/event/v1"
	interactionv1 "github.com/kehu-crm/kehu/pkg/api/kehu/interaction/v1"
	sdv1 "github.com/kehu-crm/kehu/pkg/api/kehu/servicedesk/v1"
	customerrpc "github.com/kehu-crm/kehu/pkg/customerref/rpc"
	"github.com/kehu-crm/kehu/pkg/follow"
	"github.com/kehu-crm/kehu/services/analytics/internal/insight"
)

// Source is a followed stream with its decoder.
type Source struct {
	Name   string
	Stream follow.Source
	Decode func(*eventv1.Event) (insight.Event, error)
}

// Customers is the customer service's stream.
func Customers(conn grpc.ClientConnInterface) Source {
	return Source{Name: insight.SourceCustomer, Stream: customerrpc.Events(conn), Decode: decodeCustomer}
}

func decodeCustomer(e *eventv1.Event) (insight.Event, error) {
	ev, err := customerrpc.Decode(e)
	if err != nil {
		return insight.Event{}, err
	}
	out := insight.Event{Sequence: ev.Sequence, Type: ev.Type, CustomerID: ev.CustomerID, Stage: ev.Stage, Actor: ev.Actor,
		SurvivorID: ev.SurvivorID, MergedIDs: ev.MergedIDs, RestoredID: ev.RestoredID}
	if c := ev.Snapshot; c != nil {
		out.Customer = &insight.Customer{ID: c.ID, DisplayName: c.DisplayName, Stage: c.Stage, ValueTier: c.ValueTier,
			AccountManager: c.AccountManager, Points: c.LoyaltyPoints, Deleted: c.Deleted || c.MergedInto != "",
			BirthMonth: birthMonth(c.Birthday), Needs: c.Needs, PriceSensitivity: c.PriceSensitivity}
	}
	return out, nil
}

// birthMonth is the month of a "YYYY-MM-DD" or "--MM-DD" (year unknown)
// birthday, 0 if none.
func birthMonth(birthday string) int {
	t, err := time.Parse(time.DateOnly, strings.Replace(birthday, "--", "2000-", 1))
	if err != nil {
		return 0
	}
	return int(t.Month())
}

// Interactions is the interaction service's stream.
func Interactions(conn grpc.ClientConnInterface) Source {
	rpc := interactionv1.NewInteractionServiceClient(conn)
	return Source{
		Name: insight.SourceInteraction,
		Stream: func(ctx context.Context, after int64) (follow.Stream, error) {
			s, err := rpc.StreamEvents(ctx, &interactionv1.StreamEventsRequest{AfterSequence: after})
			return recv(func() (*eventv1.Event, error) { r, err := s.Recv(); return r.GetEvent(), err }), err
		},
		Decode: decodeInteraction,
	}
}

func decodeInteraction(e *eventv1.Event) (insight.Event, error) {
	out := insight.Event{Sequence: e.GetSequence(), Type: e.GetType()}
	var p interactionv1.InteractionChangedPayload
	if e.GetPayload() == nil || !e.GetPayload().MessageIs(&p) || e.GetPayload().UnmarshalTo(&p) != nil {
		return out, nil
	}
	i := p.GetInteraction()
	parts := strings.Split(i.GetName(), "/")
	if len(parts) != 4 {
		return out, nil
	}
	r := &insight.Record{
		ID: parts[3], CustomerID: parts[1],
		Channel:   strings.TrimPrefix(i.GetChannel().String(), "CHANNEL_"),
		Kind:      strings.TrimPrefix(i.GetKind().String(), "INTERACTION_KIND_"),
		OccurTime: i.GetOccurTime().AsTime(), Satisfaction: int(i.GetSatisfaction()),
		Amount: i.GetAmount().GetAmount(), Currency: i.GetAmount().GetCurrencyCode(),
		Deleted: i.GetDeleteTime() != nil,
	}
	out.Record = r
	return out, nil
}

// ServiceDesk is the service desk's stream.
func ServiceDesk(conn grpc.ClientConnInterface) Source {
	rpc := sdv1.NewServiceDeskServiceClient(conn)
	return Source{
		Name: insight.SourceServiceDesk,
		Stream: func(ctx context.Context, after int64) (follow.Stream, error) {
			s, err := rpc.StreamEvents(ctx, &sdv1.StreamEventsRequest{AfterSequence: after})
			return recv(func() (*eventv1.Event, error) { r, err := s.Recv(); return r.GetEvent(), err }), err
		},
		Decode: decodeServiceDesk,
	}
}

func decodeServiceDesk(e *eventv1.Event) (insight.Event, error) {
	out := insight.Event{Sequence: e.GetSequence(), Type: e.GetType()}
	if e.GetPayload() == nil {
		return out, nil
	}
	var ticket sdv1.TicketChangedPayload
	var answer sdv1.SurveyAnsweredPayload
	switch {
	case e.GetPayload().MessageIs(&ticket):
		if e.GetPayload().UnmarshalTo(&ticket) != nil {
			return out, nil
		}
		t := ticket.GetTicket()
		k := &insight.Ticket{
			ID: strings.TrimPrefix(t.GetName(), "tickets/"), CustomerID: strings.TrimPrefix(t.GetCustomer(), "customers/"),
			Type:       strings.TrimPrefix(t.GetType().String(), "TICKET_TYPE_"),
			Status:     strings.TrimPrefix(t.GetStatus().String(), "STATUS_"),
			CreateTime: t.GetCreateTime().AsTime(), Deleted: t.GetDeleteTime() != nil,
		}
		if t.GetResolveTime() != nil {
			rt := t.GetResolveTime().AsTime()
			k.ResolveTime = &rt
		}
		out.Ticket = k
	case e.GetPayload().MessageIs(&answer):
		if e.GetPayload().UnmarshalTo(&answer) != nil || answer.GetSurvey().GetResult() == nil {
			return out, nil
		}
		v := answer.GetSurvey()
		out.Answer = &insight.Answer{
			SurveyID: strings.TrimPrefix(v.GetName(), "surveys/"), TicketID: strings.TrimPrefix(v.GetTicket(), "tickets/"),
			CustomerID: strings.TrimPrefix(v.GetCustomer(), "customers/"),
			Kind:       strings.TrimPrefix(v.GetKind().String(), "SURVEY_KIND_"),
			Score:      int(v.GetResult().GetScore()), AnswerTime: v.GetResult().GetAnswerTime().AsTime(),
		}
	}
	return out, nil
}

// recv adapts a typed stream's Recv to follow.Stream.
type recv func() (*eventv1.Event, error)

func (r recv) Recv() (*eventv1.Event, error) { return r() }

// Consumer applies a source's events to the read model.
func Consumer(src Source, svc *insight.Service) follow.Consumer {
	return consumer{src: src, svc: svc}
}

type consumer struct {
	src Source
	svc *insight.Service
}

func (c consumer) Cursor(ctx context.Context) (int64, error) { return c.svc.Cursor(ctx, c.src.Name) }

func (c consumer) Apply(ctx context.Context, e *eventv1.Event) error {
	ev, err := c.src.Decode(e)
	if err != nil {
		return err
	}
	return c.svc.Apply(ctx, c.src.Name, ev)
}
