package outbox

import (
	"context"
	"fmt"
	"log/slog"
	"strconv"
	"sync"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/anypb"
	"google.golang.org/protobuf/types/known/timestamppb"

	eventv1 "github.com/kehu-crm/kehu/pkg/api/kehu/event/v1"
	"github.com/kehu-crm/kehu/pkg/envelope"
	"github.com/kehu-crm/kehu/pkg/errs"
	"github.com/kehu-crm/kehu/pkg/pg"
)

// Tuning of the streamer. The poll interval is the latency bound when a
// notification is lost (LISTEN connection down); batch size bounds memory.
const (
	pollInterval = 2 * time.Second
	batchSize    = 500
)

// Streamer serves a schema's outbox to StreamEvents callers. One LISTEN
// connection per process wakes every open stream when new events commit.
type Streamer struct {
	pool    *pgxpool.Pool
	channel string

	mu   sync.Mutex
	wake chan struct{} // closed and replaced on every notification

	// sealer opens sealed payloads (see OpenWith).
	sealer Sealer
}

// OpenWith makes the streamer open payloads sealed by sealer before
// sending them: the service writes with Emitter.Sealer. Call it before
// serving StreamEvents.
func (s *Streamer) OpenWith(sealer Sealer) { s.sealer = sealer }

// NewStreamer returns a Streamer over schema's outbox.
func NewStreamer(pool *pgxpool.Pool, schema string) *Streamer {
	return &Streamer{pool: pool, channel: schema + "_outbox", wake: make(chan struct{})}
}

// Run listens for commit notifications until ctx is done, reconnecting
// after failures. Streams work without it, at poll latency.
func (s *Streamer) Run(ctx context.Context) {
	for ctx.Err() == nil {
		err := s.listen(ctx)
		if ctx.Err() != nil {
			return
		}
		slog.WarnContext(ctx, "outbox listener failed; retrying", "channel", s.channel, "error", err)
		select {
		case <-ctx.Done():
		case <-time.After(time.Second):
		}
	}
}

func (s *Streamer) listen(ctx context.Context) error {
	pooled, err := s.pool.Acquire(ctx)
	if err != nil {
		return err
	}
	// A connection in LISTEN state must never go back to the pool.
	conn := pooled.Hijack()
	defer conn.Close(context.WithoutCancel(ctx))
	if _, err := conn.Exec(ctx, "LISTEN "+pgx.Identifier{s.channel}.Sanitize()); err != nil {
		return err
	}
	s.broadcast() // events may have committed while we were not listening
	for {
		if _, err := conn.WaitForNotification(ctx); err != nil {
			return err
		}
		s.broadcast()
	}
}

func (s *Streamer) broadcast() {
	s.mu.Lock()
	close(s.wake)
	s.wake = make(chan struct{})
	s.mu.Unlock()
}

func (s *Streamer) waiter() <-chan struct{} {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.wake
}

// Stream sends every event with a sequence greater than after, in order,
// then waits for new ones, until ctx is done or send fails. It returns nil
// when ctx ends, so a client that hangs up is not an error.
func (s *Streamer) Stream(ctx context.Context, after int64, send func(*eventv1.Event) error) error {
	for {
		// Take the waiter before reading so a commit between the read and
		// the wait is not missed.
		wake := s.waiter()
		events, err := s.Read(ctx, after, batchSize)
		if err != nil {
			if ctx.Err() != nil {
				return nil
			}
			return err
		}
		for _, e := range events {
			if err := send(e); err != nil {
				return err
			}
			after = e.GetSequence()
		}
		if len(events) == batchSize {
			continue
		}
		select {
		case <-ctx.Done():
			return nil
		case <-wake:
		case <-time.After(pollInterval):
		}
	}
}

// Read returns up to limit events after sequence after. A cursor behind
// the pruned part of the outbox is OUT_OF_RANGE, naming the oldest
// sequence kept: the consumer has missed events and must resynchronise.
// The retention mark and the events are read in one statement, so one
// snapshot: a concurrent Prune cannot open a gap between the two.
func (s *Streamer) Read(ctx context.Context, after int64, limit int) ([]*eventv1.Event, error) {
	rows, err := s.pool.Query(ctx, `
		SELECT r.pruned_through, e.sequence, coalesce(e.id::text, ''), coalesce(e.type, ''), coalesce(e.subject, ''),
		       coalesce(e.actor, ''), e.payload, e.create_time
		FROM outbox_retention r
		LEFT JOIN LATERAL (
			SELECT * FROM outbox WHERE sequence > $1 ORDER BY sequence LIMIT $2
		) e ON r.pruned_through <= $1`, after, limit)
	if err != nil {
		return nil, pg.Classify(err)
	}
	defer rows.Close()
	var out []*eventv1.Event
	for rows.Next() {
		var (
			e        eventv1.Event
			pruned   int64
			sequence *int64
			payload  []byte
			at       *time.Time
		)
		if err := rows.Scan(&pruned, &sequence, &e.Id, &e.Type, &e.Subject, &e.Actor, &payload, &at); err != nil {
			return nil, pg.Classify(err)
		}
		if after < pruned {
			return nil, errs.OutOfRange("EVENTS_PRUNED",
				"events up to sequence %d were pruned (outbox retention); the oldest kept is %d: resynchronise, then stream from there", pruned, pruned+1).
				WithMetadata("oldest_sequence", strconv.FormatInt(pruned+1, 10))
		}
		if sequence == nil {
			break // the LEFT JOIN's row when there is nothing new
		}
		e.Sequence = *sequence
		e.Time = timestamppb.New(*at)
		if payload != nil && s.sealer != nil {
			// Events written before the service sealed its payloads are
			// plain: a protobuf Any never starts like a sealed value.
			if _, sealed := envelope.KeyID(payload); sealed {
				if payload, err = s.sealer.Open(ctx, payload, PayloadAD(e.Id)); err != nil {
					return nil, errs.Internal(fmt.Errorf("opening the payload of event %s: %w", e.Id, err))
				}
			}
		}
		if payload != nil {
			e.Payload = &anypb.Any{}
			if err := proto.Unmarshal(payload, e.Payload); err != nil {
				return nil, pg.Classify(err)
			}
		}
		out = append(out, &e)
	}
	return out, pg.Classify(rows.Err())
}
