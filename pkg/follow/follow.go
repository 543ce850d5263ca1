// Package follow keeps a service up with another service's event stream:
// it resumes after the last event the consumer applied (the consumer
// stores that cursor with the event's effects, so nothing is lost or
// applied twice), reconnects with backoff, and never skips ahead when the
// events it still needs were pruned: it rebuilds from a snapshot when the
// consumer can, and otherwise stops loudly.
package follow

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"strconv"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"google.golang.org/genproto/googleapis/rpc/errdetails"
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
	// Apply applies events (in sequence order, at most MaxBatch) and moves
	// the cursor to the last of them, all in one transaction; events at or
	// below the cursor change nothing.
	Apply(ctx context.Context, events []*eventv1.Event) error
}

// MaxBatch is the most events applied in one transaction. A follower that
// is caught up applies each event as it arrives; one that is behind (after
// a bulk import, a restart) applies what has arrived in batches, so a
// commit's flush is paid once per batch rather than once per event.
const MaxBatch = 500

// Resyncer is a Consumer that can rebuild what it derives from the source
// out of the source's current state, for when the events it still needs
// were pruned.
type Resyncer interface {
	// Resync replaces everything the consumer derived from the source with
	// a snapshot of the source taken now, and moves the cursor to after
	// (just before the oldest event the source still keeps). Following
	// resumes there: the events since replay over the snapshot, which the
	// consumer applies idempotently, ending at the latest state.
	Resync(ctx context.Context, after int64) error
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
	resyncs    prometheus.Counter
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
		resyncs: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "kehu_" + name + "_resyncs_total",
			Help: "Times the " + name + " consumer rebuilt its state from a snapshot after the events it needed were pruned.",
		}),
	}
	reg.MustRegister(f.applied, f.outOfRange, f.resyncs)
	return f
}

// Run follows the stream until ctx is done, resuming after the last event
// applied, reconnecting with backoff after failures, resynchronising
// (see Resyncer) when the events it needs were pruned.
func (f *Follower) Run(ctx context.Context) {
	backoff := time.Second
	for ctx.Err() == nil {
		err := f.follow(ctx)
		if ctx.Err() != nil {
			return
		}
		if status.Code(err) == codes.OutOfRange {
			if f.resync(ctx, err) {
				backoff = time.Second
				continue
			}
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

// resync handles OUT_OF_RANGE: the source pruned events this service
// never read. Carrying on from a later sequence would leave a silent gap
// (merges and purges unapplied), so a consumer that can resynchronise from
// a snapshot does; any other stays put, loudly, until an operator does.
// It reports whether following can resume.
func (f *Follower) resync(ctx context.Context, err error) bool {
	f.outOfRange.Set(1)
	oldest, ok := oldestSequence(err)
	r, can := f.consumer.(Resyncer)
	if !ok || !can {
		f.logger.Error("events were pruned before this service read them; resynchronise", "error", err)
		return false
	}
	f.logger.Warn("events were pruned before this service read them; resynchronising from a snapshot", "oldest_sequence", oldest)
	start := time.Now()
	if err := r.Resync(ctx, oldest-1); err != nil {
		f.logger.Error("resynchronising failed; retrying", "error", err)
		return false
	}
	f.resyncs.Inc()
	f.outOfRange.Set(0)
	f.logger.Info("resynchronised from a snapshot", "resume_after", oldest-1, "took", time.Since(start).Round(time.Millisecond).String())
	return true
}

// oldestSequence is the oldest event the source still keeps, from the
// OUT_OF_RANGE status's ErrorInfo.
func oldestSequence(err error) (int64, bool) {
	for _, d := range status.Convert(err).Details() {
		if info, ok := d.(*errdetails.ErrorInfo); ok {
			if n, err := strconv.ParseInt(info.GetMetadata()["oldest_sequence"], 10, 64); err == nil && n > 0 {
				return n, true
			}
		}
	}
	return 0, false
}

func (f *Follower) follow(ctx context.Context) error {
	after, err := f.consumer.Cursor(ctx)
	if err != nil {
		return err
	}
	streamCtx, stop := context.WithCancel(ctx)
	defer stop()
	stream, err := f.source(streamCtx, after)
	if err != nil {
		return err
	}
	// A reader keeps receiving while a batch is being applied, so that
	// the next batch is whatever arrived meanwhile.
	type received struct {
		e   *eventv1.Event
		err error
	}
	incoming := make(chan received, MaxBatch)
	go func() {
		for {
			e, err := stream.Recv()
			if errors.Is(err, io.EOF) {
				err = errors.New("stream ended")
			}
			select {
			case incoming <- received{e, err}:
			case <-streamCtx.Done():
				return
			}
			if err != nil {
				return
			}
		}
	}()
	for {
		var r received
		select {
		case r = <-incoming:
		case <-ctx.Done():
			return ctx.Err()
		}
		if r.err != nil {
			return r.err
		}
		batch := []*eventv1.Event{r.e}
		var pending error
	more:
		for len(batch) < MaxBatch {
			select {
			case r := <-incoming:
				if r.err != nil {
					pending = r.err
					break more
				}
				batch = append(batch, r.e)
			default:
				break more
			}
		}
		if err := f.consumer.Apply(ctx, batch); err != nil {
			return err
		}
		f.outOfRange.Set(0)
		f.applied.Add(float64(len(batch)))
		if pending != nil {
			return pending
		}
	}
}
