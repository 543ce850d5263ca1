package rpc

import (
	"context"
	"strings"

	"google.golang.org/grpc"

	customerv1 "github.com/kehu-crm/kehu/pkg/api/kehu/customer/v1"
	eventv1 "github.com/kehu-crm/kehu/pkg/api/kehu/event/v1"
	"github.com/kehu-crm/kehu/pkg/customerref"
	"github.com/kehu-crm/kehu/pkg/follow"
	"github.com/kehu-crm/kehu/pkg/protoenum"
)

// Events is the customer service's event stream as a follow.Source; conn
// must carry service credentials.
func Events(conn grpc.ClientConnInterface) follow.Source {
	rpc := customerv1.NewCustomerServiceClient(conn)
	return func(ctx context.Context, after int64) (follow.Stream, error) {
		s, err := rpc.StreamEvents(ctx, &customerv1.StreamEventsRequest{AfterSequence: after})
		if err != nil {
			return nil, err
		}
		return stream{s}, nil
	}
}

type stream struct {
	customerv1.CustomerService_StreamEventsClient
}

func (s stream) Recv() (*eventv1.Event, error) {
	resp, err := s.CustomerService_StreamEventsClient.Recv()
	return resp.GetEvent(), err
}

// Decode converts a customer service event for other services' domains. Payloads may be
// empty (erased after a purge); the subject still names the customer.
func Decode(e *eventv1.Event) (customerref.Event, error) {
	out := customerref.Event{
		Sequence:   e.GetSequence(),
		Actor:      e.GetActor(),
		Type:       e.GetType(),
		CustomerID: strings.TrimPrefix(e.GetSubject(), "customers/"),
	}
	if e.GetPayload() == nil {
		return out, nil
	}
	msg, err := e.GetPayload().UnmarshalNew()
	if err != nil {
		// A payload type this build does not know (newer customer
		// service): the event still advances the cursor.
		return out, nil
	}
	switch p := msg.(type) {
	case *customerv1.CustomerChangedPayload:
		out.Snapshot = Snapshot(p.GetCustomer())
	case *customerv1.LifecycleStageChangedPayload:
		out.Stage = strings.TrimPrefix(p.GetTransition().GetToStage().String(), "LIFECYCLE_STAGE_")
		out.StageTime = p.GetTransition().GetCreateTime().AsTime()
	case *customerv1.CustomerUnmergedPayload:
		out.SurvivorID = strings.TrimPrefix(p.GetSurvivor(), "customers/")
		out.RestoredID = strings.TrimPrefix(p.GetRestored(), "customers/")
	case *customerv1.CustomersMergedPayload:
		out.SurvivorID = strings.TrimPrefix(p.GetSurvivor(), "customers/")
		for _, m := range p.GetMerged() {
			out.MergedIDs = append(out.MergedIDs, strings.TrimPrefix(m, "customers/"))
		}
	}
	return out, nil
}

// Snapshot is what other services keep of a customer record (nil for nil).
func Snapshot(c *customerv1.Customer) *customerref.Snapshot {
	if c == nil {
		return nil
	}
	var needs []string
	for _, n := range []struct {
		on   bool
		name string
	}{{c.GetNeedProfile().GetFunctional(), "FUNCTIONAL"}, {c.GetNeedProfile().GetEmotional(), "EMOTIONAL"}, {c.GetNeedProfile().GetSocial(), "SOCIAL"}} {
		if n.on {
			needs = append(needs, n.name)
		}
	}
	return &customerref.Snapshot{
		ID:               strings.TrimPrefix(c.GetName(), "customers/"),
		DisplayName:      c.GetDisplayName(),
		Kind:             protoenum.Name(c.GetKind(), "KIND_"),
		Source:           protoenum.Name(c.GetSource(), "SOURCE_CHANNEL_"),
		Stage:            protoenum.Name(c.GetLifecycleStage(), "LIFECYCLE_STAGE_"),
		ValueTier:        protoenum.Name(c.GetValueTier(), "VALUE_TIER_"),
		AccountManager:   c.GetAccountManager(),
		Tags:             c.GetTags(),
		Birthday:         c.GetBirthday(),
		Needs:            needs,
		PriceSensitivity: protoenum.Name(c.GetNeedProfile().GetPriceSensitivity(), "PRICE_SENSITIVITY_"),
		LoyaltyPoints:    c.GetLoyaltyPoints(),
		Since:            c.GetCreateTime().AsTime(),
		Deleted:          c.GetDeleteTime() != nil,
	}
}

// Consumer adapts a domain's cursor and event handler to follow.Consumer,
// decoding the customer service's events on the way.
func Consumer(cursor func(context.Context) (int64, error), apply func(context.Context, []customerref.Event) error) follow.Consumer {
	return consumer{cursor: cursor, apply: apply}
}

type consumer struct {
	cursor func(context.Context) (int64, error)
	apply  func(context.Context, []customerref.Event) error
}

func (c consumer) Cursor(ctx context.Context) (int64, error) { return c.cursor(ctx) }

func (c consumer) Apply(ctx context.Context, events []*eventv1.Event) error {
	decoded := make([]customerref.Event, len(events))
	for i, e := range events {
		var err error
		if decoded[i], err = Decode(e); err != nil {
			return err
		}
	}
	return c.apply(ctx, decoded)
}
