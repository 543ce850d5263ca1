// Package follow keeps a service up with another service's event stream:
// it resumes after the last event the consumer applied (the consumer
// stores that cursor with the event's effects, so nothing is lost or
// applied twice), reconnects with backoff, and stops loudly, never
// skipping ahead, when the events it still needs were pruned.
package follow

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	eventv1 "github.com/kehu-crm/kehu/pkg/api/kehu/event/v1"
)

// Stream is an open event stream; Recv blocks for the next event.
type Stream interface {
	Recv() (*eventv1.Event, error)
}

// Source opens a stream of the events after sequence after.
type Source func(ctx context.Context, after int64) (Stream, error)

// Consumer is what follows a stream.
type Consumer interface {
	// Cursor returns the sequence of the last event applied.
	Cursor(ctx context.Context) (int64, error)
	// Apply applies one event and moves the cursor to it in the same
	// transaction; an event at or below the cursor changes nothing.
	Apply(ctx context.Context, e *eventv1.Event) error
}

// Follower applies a stream to a consumer.
type Follower struct {
	name     string
	source   Source
	consumer Consumer
	logger   *slog.Logger
	applied  prometheus.Counter
	// outOfRange is 1 while the stream cannot resume without a gap.
	outOfRange prometheus.Gauge
}

// New returns a Follower of the stream called name (e.g.
// "servicedesk_customer_events"), with its metrics registered in reg.
func New(name string, source Source, consumer Consumer, logger *slog.Logger, reg prometheus.Registerer) *Follower {
	f := &Follower{
		name: name, source: source, consumer: consumer, logger: logger.With("stream", name),
		applied: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "kehu_" + name + "_applied_total",
			Help: "Events of the " + name + " stream applied.",
		}),
		outOfRange: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "kehu_" + name + "_out_of_range",
			Help: "1 while the " + name + " events this service still needs were pruned (resynchronise).",
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
			// The source pruned events this service never read: carrying
			// on from a later sequence would leave a silent gap (merges
			// and purges unapplied), so it stays put, loudly, until an
			// operator resynchronises it.
			f.outOfRange.Set(1)
			f.logger.Error("events were pruned before this service read them; resynchronise", "error", err)
		} else {
			f.logger.Warn("event stream interrupted; resuming", "error", err, "retry_in", backoff.String())
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
	after, err := f.consumer.Cursor(ctx)
	if err != nil {
		return err
	}
	stream, err := f.source(ctx, after)
	if err != nil {
		return err
	}
	for {
		e, err := stream.Recv()
		if errors.Is(err, io.EOF) {
			return errors.New("stream ended")
		}
		if err != nil {
			return err
		}
		if err := f.consumer.Apply(ctx, e); err != nil {
			return err
		}
		f.outOfRange.Set(0)
		f.applied.Inc()
	}
}
