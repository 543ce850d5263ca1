// Package customers follows the customer service's event stream to keep
// the interaction service's projection current and to react to merges,
// unmerges and purges. (Lookups as the caller are pkg/customerref.)
package customers

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"strings"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	customerv1 "github.com/kehu-crm/kehu/pkg/api/kehu/customer/v1"
	eventv1 "github.com/kehu-crm/kehu/pkg/api/kehu/event/v1"
	"github.com/kehu-crm/kehu/services/interaction/internal/interaction"
)

// Follower applies the customer event stream to the interaction service.
type Follower struct {
	rpc     customerv1.CustomerServiceClient
	svc     *interaction.Service
	logger  *slog.Logger
	applied prometheus.Counter
	// outOfRange is 1 while the stream cannot resume without a gap.
	outOfRange prometheus.Gauge
}

// NewFollower returns a Follower; conn must carry service credentials.
func NewFollower(conn grpc.ClientConnInterface, svc *interaction.Service, logger *slog.Logger, reg prometheus.Registerer) *Follower {
	f := &Follower{
		rpc: customerv1.NewCustomerServiceClient(conn), svc: svc, logger: logger,
		applied: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "kehu_interaction_customer_events_applied_total",
			Help: "Customer service events applied to the interaction service.",
		}),
		outOfRange: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "kehu_interaction_customer_events_out_of_range",
			Help: "1 while the customer events this service still needs were pruned (resynchronise).",
		}),
	}
	reg.MustRegister(f.applied, f.outOfRange)
	return f
}

// Run follows the stream until ctx is done, resuming after the last event
// applied, reconnecting with backoff after failures.
func (f *Follower) Run(ctx context.Context) {
	backoff := time.Second
	for ctx.Err() == nil {
		err := f.follow(ctx)
		if ctx.Err() != nil {
			return
		}
		if status.Code(err) == codes.OutOfRange {
			// The customer service pruned events this service never read:
			// carrying on from a later sequence would leave a silent gap in
			// the projection (merges and purges unapplied), so it stays put,
			// loudly, until an operator resynchronises it.
			f.outOfRange.Set(1)
			f.logger.Error("customer events were pruned before this service read them; resynchronise the customer projection", "error", err)
		} else {
			f.logger.Warn("customer event stream interrupted; resuming", "error", err, "retry_in", backoff.String())
		}
		select {
		case <-ctx.Done():
			return
		case <-time.After(backoff):
		}
		backoff = min(backoff*2, 30*time.Second)
	}
}

func (f *Follower) follow(ctx context.Context) error {
	after, err := f.svc.CustomerCursor(ctx)
	if err != nil {
		return err
	}
	stream, err := f.rpc.StreamEvents(ctx, &customerv1.StreamEventsRequest{AfterSequence: after})
	if err != nil {
		return err
	}
	for {
		resp, err := stream.Recv()
		if errors.Is(err, io.EOF) {
			return errors.New("stream ended")
		}
		if err != nil {
			return err
		}
		ev, err := Decode(resp.GetEvent())
		if err != nil {
			return err
		}
		if err := f.svc.ApplyCustomerEvent(ctx, ev); err != nil {
			return err
		}
		f.applied.Inc()
	}
}

// Decode converts a customer service event for the domain. Payloads may be
// empty (erased after a purge); the subject still names the customer.
func Decode(e *eventv1.Event) (interaction.CustomerEvent, error) {
	out := interaction.CustomerEvent{
		Sequence:   e.GetSequence(),
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
		out.Snapshot = snapshot(p.GetCustomer())
	case *customerv1.LifecycleStageChangedPayload:
		out.Stage = strings.TrimPrefix(p.GetTransition().GetToStage().String(), "LIFECYCLE_STAGE_")
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

func snapshot(c *customerv1.Customer) *interaction.CustomerSnapshot {
	if c == nil {
		return nil
	}
	trim := func(s, prefix string) string {
		s = strings.TrimPrefix(s, prefix)
		if s == "UNSPECIFIED" {
			return ""
		}
		return s
	}
	return &interaction.CustomerSnapshot{
		ID:             strings.TrimPrefix(c.GetName(), "customers/"),
		DisplayName:    c.GetDisplayName(),
		Kind:           trim(c.GetKind().String(), "KIND_"),
		Source:         trim(c.GetSource().String(), "SOURCE_CHANNEL_"),
		Stage:          trim(c.GetLifecycleStage().String(), "LIFECYCLE_STAGE_"),
		ValueTier:      trim(c.GetValueTier().String(), "VALUE_TIER_"),
		AccountManager: c.GetAccountManager(),
		Tags:           c.GetTags(),
		Birthday:       c.GetBirthday(),
		Since:          c.GetCreateTime().AsTime(),
		Deleted:        c.GetDeleteTime() != nil,
	}
}
