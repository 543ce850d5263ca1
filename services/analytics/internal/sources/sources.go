// Package sources connects the analytics service to the event streams of
// the customer, interaction and service-desk services: each stream becomes
// a follow.Source, and each event is decoded into the read model's terms.
package sources

import (
	"context"
	"strings"
	"time"

	"google.golang.org/grpc"

	customerv1 "github.com/kehu-crm/kehu/pkg/api/kehu/customer/v1"
	eventv1 "github.com/kehu-crm/kehu/pkg/api/kehu/event/v1"
	interactionv1 "github.com/kehu-crm/kehu/pkg/api/kehu/interaction/v1"
	sdv1 "github.com/kehu-crm/kehu/pkg/api/kehu/servicedesk/v1"
	"github.com/kehu-crm/kehu/pkg/customerref"
	customerrpc "github.com/kehu-crm/kehu/pkg/customerref/rpc"
	"github.com/kehu-crm/kehu/pkg/follow"
	"github.com/kehu-crm/kehu/pkg/protoenum"
	"github.com/kehu-crm/kehu/services/analytics/internal/insight"
)

// Source is a followed stream with its decoder and a snapshot of the
// source's current state (for a resync after pruned events), as the events
// the read model would have made of it.
type Source struct {
	Name     string
	Stream   follow.Source
	Decode   func(*eventv1.Event) (insight.Event, error)
	Snapshot insight.Snapshot
}

// snapshotPage is the page size of a snapshot's list calls.
const snapshotPage = 1000

// Customers is the customer service's stream.
func Customers(conn grpc.ClientConnInterface) Source {
	rpc := customerv1.NewCustomerServiceClient(conn)
	return Source{Name: insight.SourceCustomer, Stream: customerrpc.Events(conn), Decode: decodeCustomer,
		Snapshot: func(ctx context.Context, yield func(insight.Event) error) error {
			return pages(func(token string) (string, error) {
				r, err := rpc.ListCustomers(ctx, &customerv1.ListCustomersRequest{PageSize: snapshotPage, PageToken: token, OrderBy: "create_time"})
				for _, c := range r.GetCustomers() {
					if err := yield(insight.Event{Customer: customerOf(customerrpc.Snapshot(c))}); err != nil {
						return "", err
					}
				}
				return r.GetNextPageToken(), err
			})
		}}
}

// pages calls page with each page token until the last page.
func pages(page func(token string) (next string, err error)) error {
	token := ""
	for {
		next, err := page(token)
		if err != nil || next == "" {
			return err
		}
		token = next
	}
}

func decodeCustomer(e *eventv1.Event) (insight.Event, error) {
	ev, err := customerrpc.Decode(e)
	if err != nil {
		return insight.Event{}, err
	}
	out := insight.Event{Sequence: ev.Sequence, Type: ev.Type, CustomerID: ev.CustomerID, Stage: ev.Stage, StageTime: ev.StageTime, Actor: ev.Actor,
		SurvivorID: ev.SurvivorID, MergedIDs: ev.MergedIDs, RestoredID: ev.RestoredID}
	if ev.Snapshot != nil {
		out.Customer = customerOf(ev.Snapshot)
	}
	return out, nil
}

func customerOf(c *customerref.Snapshot) *insight.Customer {
	return &insight.Customer{ID: c.ID, DisplayName: c.DisplayName, Stage: c.Stage, ValueTier: c.ValueTier,
		AccountManager: c.AccountManager, Points: c.LoyaltyPoints, Deleted: c.Deleted || c.MergedInto != "",
		BirthMonth: birthMonth(c.Birthday), Needs: c.Needs, PriceSensitivity: c.PriceSensitivity, Since: c.Since}
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
		Snapshot: func(ctx context.Context, yield func(insight.Event) error) error {
			err := pages(func(token string) (string, error) {
				r, err := rpc.ListInteractions(ctx, &interactionv1.ListInteractionsRequest{Parent: "customers/-", PageSize: snapshotPage, PageToken: token})
				for _, i := range r.GetInteractions() {
					if rec := recordOf(i); rec != nil {
						if err := yield(insight.Event{Record: rec}); err != nil {
							return "", err
						}
					}
				}
				return r.GetNextPageToken(), err
			})
			if err != nil {
				return err
			}
			return pages(func(token string) (string, error) {
				r, err := rpc.ListFollowUps(ctx, &interactionv1.ListFollowUpsRequest{Parent: "customers/-", PageSize: snapshotPage, PageToken: token})
				for _, f := range r.GetFollowUps() {
					if fu := followUpOf(f); fu != nil {
						if err := yield(insight.Event{FollowUp: fu}); err != nil {
							return "", err
						}
					}
				}
				return r.GetNextPageToken(), err
			})
		},
	}
}

func decodeInteraction(e *eventv1.Event) (insight.Event, error) {
	out := insight.Event{Sequence: e.GetSequence(), Type: e.GetType()}
	var p interactionv1.InteractionChangedPayload
	var f interactionv1.FollowUpChangedPayload
	switch {
	case e.GetPayload() == nil:
	case e.GetPayload().MessageIs(&p):
		if e.GetPayload().UnmarshalTo(&p) == nil {
			out.Record = recordOf(p.GetInteraction())
		}
	case e.GetPayload().MessageIs(&f):
		if e.GetPayload().UnmarshalTo(&f) == nil {
			out.FollowUp = followUpOf(f.GetFollowUp())
		}
	}
	return out, nil
}

// followUpOf is the read model's follow-up (nil if its name is not one).
func followUpOf(f *interactionv1.FollowUp) *insight.FollowUp {
	parts := strings.Split(f.GetName(), "/")
	if len(parts) != 4 {
		return nil
	}
	out := &insight.FollowUp{ID: parts[3], CustomerID: parts[1], Assignee: f.GetAssignee(),
		CareRule: strings.TrimPrefix(f.GetCareRule(), "careRules/"), State: protoenum.Name(f.GetState(), "STATE_"), DueTime: f.GetDueTime().AsTime()}
	if f.GetCloseTime() != nil {
		ct := f.GetCloseTime().AsTime()
		out.CloseTime = &ct
	}
	return out
}

// recordOf is the read model's record of an interaction (nil if its name
// is not one).
func recordOf(i *interactionv1.Interaction) *insight.Record {
	parts := strings.Split(i.GetName(), "/")
	if len(parts) != 4 {
		return nil
	}
	return &insight.Record{
		ID: parts[3], CustomerID: parts[1],
		Channel:   strings.TrimPrefix(i.GetChannel().String(), "CHANNEL_"),
		Kind:      strings.TrimPrefix(i.GetKind().String(), "INTERACTION_KIND_"),
		OccurTime: i.GetOccurTime().AsTime(), Satisfaction: int(i.GetSatisfaction()),
		Amount: i.GetAmount().GetAmount(), Currency: i.GetAmount().GetCurrencyCode(),
		Deleted:    i.GetDeleteTime() != nil,
		Touchpoint: strings.TrimPrefix(i.GetTouchpoint(), "touchpoints/"),
		Stage:      protoenum.Name(i.GetLifecycleStage(), "LIFECYCLE_STAGE_"),
	}
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
		Snapshot: func(ctx context.Context, yield func(insight.Event) error) error {
			err := pages(func(token string) (string, error) {
				r, err := rpc.ListTickets(ctx, &sdv1.ListTicketsRequest{PageSize: snapshotPage, PageToken: token})
				for _, t := range r.GetTickets() {
					if err := yield(insight.Event{Ticket: ticketOf(t)}); err != nil {
						return "", err
					}
				}
				return r.GetNextPageToken(), err
			})
			if err != nil {
				return err
			}
			return pages(func(token string) (string, error) {
				r, err := rpc.ListSurveys(ctx, &sdv1.ListSurveysRequest{PageSize: snapshotPage, PageToken: token})
				for _, v := range r.GetSurveys() {
					if a := answerOf(v); a != nil {
						if err := yield(insight.Event{Answer: a}); err != nil {
							return "", err
						}
					}
				}
				return r.GetNextPageToken(), err
			})
		},
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
		if e.GetPayload().UnmarshalTo(&ticket) == nil {
			out.Ticket = ticketOf(ticket.GetTicket())
		}
	case e.GetPayload().MessageIs(&answer):
		if e.GetPayload().UnmarshalTo(&answer) == nil {
			out.Answer = answerOf(answer.GetSurvey())
		}
	}
	return out, nil
}

func ticketOf(t *sdv1.Ticket) *insight.Ticket {
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
	if t.GetFirstResponseTime() != nil {
		ft := t.GetFirstResponseTime().AsTime()
		k.FirstResponseTime = &ft
	}
	k.Queue = strings.TrimPrefix(t.GetQueue(), "queues/")
	k.FirstResponseSLA, k.ResolutionSLA = slaOutcome(t.GetFirstResponse()), slaOutcome(t.GetResolution())
	return k
}

// slaOutcome is how an SLA clock ended: MET, BREACHED, or "" while it
// runs or pauses within its target (or the ticket has no policy).
func slaOutcome(c *sdv1.SlaClock) string {
	switch c.GetState() {
	case sdv1.ClockState_CLOCK_STATE_MET:
		return "MET"
	case sdv1.ClockState_CLOCK_STATE_BREACHED:
		return "BREACHED"
	}
	return ""
}

// answerOf is the read model's answer of a survey; nil while unanswered.
func answerOf(v *sdv1.Survey) *insight.Answer {
	if v.GetResult() == nil {
		return nil
	}
	return &insight.Answer{
		SurveyID: strings.TrimPrefix(v.GetName(), "surveys/"), TicketID: strings.TrimPrefix(v.GetTicket(), "tickets/"),
		CustomerID: strings.TrimPrefix(v.GetCustomer(), "customers/"),
		Kind:       strings.TrimPrefix(v.GetKind().String(), "SURVEY_KIND_"),
		Score:      int(v.GetResult().GetScore()), AnswerTime: v.GetResult().GetAnswerTime().AsTime(),
	}
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

var _ follow.Resyncer = consumer{}

func (c consumer) Cursor(ctx context.Context) (int64, error) { return c.svc.Cursor(ctx, c.src.Name) }

// Resync implements follow.Resyncer.
func (c consumer) Resync(ctx context.Context, after int64) error {
	return c.svc.Resync(ctx, c.src.Name, after, c.src.Snapshot)
}

func (c consumer) Apply(ctx context.Context, events []*eventv1.Event) error {
	decoded := make([]insight.Event, len(events))
	for i, e := range events {
		var err error
		if decoded[i], err = c.src.Decode(e); err != nil {
			return err
		}
	}
	return c.svc.Apply(ctx, c.src.Name, decoded...)
}
