package outbox

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
	"testing/fstest"
	"time"

	"github.com/jackc/pgx/v5"
	"google.golang.org/protobuf/types/known/wrapperspb"

	eventv1 "github.com/kehu-crm/kehu/pkg/api/kehu/event/v1"
	"github.com/kehu-crm/kehu/pkg/envelope"
	"github.com/kehu-crm/kehu/pkg/errs"
	"github.com/kehu-crm/kehu/pkg/pg"
	"github.com/kehu-crm/kehu/pkg/testdb"
)

// TestConcurrentWritersStreamInCommitOrder: many transactions write events
// concurrently (some roll back); a consumer streaming from the start sees
// exactly the committed ones, in strictly increasing sequence, and one
// resuming mid-way sees exactly the rest.
func TestConcurrentWritersStreamInCommitOrder(t *testing.T) {
	url := testdb.New(t, pg.Migrations{Schema: "evt", Sources: []pg.Source{Migrations}})
	ctx := context.Background()
	pool, err := pg.Connect(ctx, url, "evt")
	if err != nil {
		t.Fatal(err)
	}
	defer pool.Close()
	s := NewStreamer(pool, "evt")
	runCtx, stop := context.WithCancel(ctx)
	defer stop()
	go s.Run(runCtx)

	const writers, each = 8, 20
	var wg sync.WaitGroup
	for w := range writers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range each {
				err := pg.InTx(ctx, pool, pgx.ReadCommitted, func(tx pgx.Tx) error {
					if err := Write(ctx, tx, Event{Type: "test.written", Subject: "things/1", Payload: wrapperspb.Int64(int64(w*100 + i))}); err != nil {
						return err
					}
					if i%5 == 4 {
						return errRollback
					}
					return nil
				})
				if err != nil && !errors.Is(err, errRollback) {
					t.Error(err)
				}
			}
		}()
	}
	want := writers * each * 4 / 5
	var got []*eventv1.Event
	streamCtx, cancel := context.WithTimeout(ctx, 20*time.Second)
	defer cancel()
	errc := make(chan error, 1)
	go func() {
		errc <- s.Stream(streamCtx, 0, func(e *eventv1.Event) error {
			got = append(got, e)
			if len(got) == want {
				cancel()
			}
			return nil
		})
	}()
	wg.Wait()
	if err := <-errc; err != nil {
		t.Fatal(err)
	}
	if len(got) != want {
		t.Fatalf("streamed %d events, want %d committed ones", len(got), want)
	}
	seen := map[int64]bool{}
	for i, e := range got {
		if i > 0 && e.GetSequence() <= got[i-1].GetSequence() {
			t.Fatalf("sequence %d after %d", e.GetSequence(), got[i-1].GetSequence())
		}
		var v wrapperspb.Int64Value
		if err := e.GetPayload().UnmarshalTo(&v); err != nil || v.GetValue()%100%5 == 4 || seen[v.GetValue()] {
			t.Fatalf("event %v: payload %v %v", e, v.GetValue(), err)
		}
		seen[v.GetValue()] = true
	}
	// Resume after the 100th event: exactly the rest.
	rest, err := s.Read(ctx, got[99].GetSequence(), 1000)
	if err != nil || len(rest) != want-100 || rest[0].GetId() != got[100].GetId() {
		t.Fatalf("resume: %d events, %v", len(rest), err)
	}

	// Erase blanks payloads of a subject and everything under it only.
	err = pg.InTx(ctx, pool, pgx.ReadCommitted, func(tx pgx.Tx) error {
		return Write(ctx, tx, Event{Type: "t", Subject: "things/1/parts/2", Payload: wrapperspb.String("x")},
			Event{Type: "t", Subject: "things/10", Payload: wrapperspb.String("y")})
	})
	if err != nil {
		t.Fatal(err)
	}
	var n int64
	err = pg.InTx(ctx, pool, pgx.ReadCommitted, func(tx pgx.Tx) error {
		n, err = Erase(ctx, tx, "things/1")
		return err
	})
	if err != nil || n != int64(want)+1 {
		t.Fatalf("erased %d, want %d: %v", n, want+1, err)
	}
	var left int
	if err := pool.QueryRow(ctx, `SELECT count(*) FROM outbox WHERE payload IS NOT NULL`).Scan(&left); err != nil || left != 1 {
		t.Fatalf("%d payloads left, want only things/10's: %v", left, err)
	}
}

var errRollback = rollback{}

type rollback struct{}

func (rollback) Error() string { return "rollback" }

// TestMigrationsAdoptAnExistingOutbox: the first services created the
// outbox in their own first migration (one of them with a plain index).
// The platform migration keeps their events and brings the index to the
// shape Erase needs.
func TestMigrationsAdoptAnExistingOutbox(t *testing.T) {
	legacy := pg.Source{FS: fstest.MapFS{"0001_service.sql": {Data: []byte(`
		CREATE TABLE outbox (sequence bigserial PRIMARY KEY, id uuid NOT NULL UNIQUE, type text NOT NULL,
			subject text NOT NULL, actor text NOT NULL DEFAULT '', payload bytea,
			create_time timestamptz NOT NULL DEFAULT now());
		CREATE INDEX outbox_subject_idx ON outbox (subject);
		INSERT INTO outbox (id, type, subject) VALUES (gen_random_uuid(), 'thing.created', 'things/1');`)}}}
	url := testdb.New(t, pg.Migrations{Schema: "evt", Sources: []pg.Source{legacy, Migrations}})
	ctx := context.Background()
	pool, err := pg.Connect(ctx, url, "evt")
	if err != nil {
		t.Fatal(err)
	}
	defer pool.Close()
	var events int
	var indexdef string
	err = pool.QueryRow(ctx, `SELECT (SELECT count(*) FROM outbox),
		(SELECT indexdef FROM pg_indexes WHERE schemaname = 'evt' AND indexname = 'outbox_subject_idx')`).Scan(&events, &indexdef)
	if err != nil {
		t.Fatal(err)
	}
	if events != 1 || !strings.Contains(indexdef, "text_pattern_ops") {
		t.Fatalf("%d events kept, index %q; want 1 and text_pattern_ops", events, indexdef)
	}
}

// TestPruneAndOutOfRange: events past the retention are pruned; a consumer
// whose cursor is behind them gets OUT_OF_RANGE naming the oldest kept
// sequence, never a silent gap, and a consumer at or after the mark reads
// on normally.
func TestPruneAndOutOfRange(t *testing.T) {
	url := testdb.New(t, pg.Migrations{Schema: "evt", Sources: []pg.Source{Migrations}})
	ctx := context.Background()
	pool, err := pg.Connect(ctx, url, "evt")
	if err != nil {
		t.Fatal(err)
	}
	defer pool.Close()
	for i := range 5 {
		err := pg.InTx(ctx, pool, pgx.ReadCommitted, func(tx pgx.Tx) error {
			return Write(ctx, tx, Event{Type: "test.written", Subject: "things/1", Payload: wrapperspb.Int64(int64(i))})
		})
		if err != nil {
			t.Fatal(err)
		}
	}
	// Events 1-3 are old, 4-5 recent.
	if _, err := pool.Exec(ctx, `UPDATE outbox SET create_time = now() - interval '10 days' WHERE sequence <= 3`); err != nil {
		t.Fatal(err)
	}
	n, err := Prune(ctx, pool, time.Now().Add(-7*24*time.Hour))
	if err != nil || n != 3 {
		t.Fatalf("pruned %d (%v), want 3", n, err)
	}
	s := NewStreamer(pool, "evt")
	for _, after := range []int64{0, 2} {
		_, err := s.Read(ctx, after, 10)
		e, _ := errs.As(err)
		if !errs.Is(err, errs.KindOutOfRange) || e.Metadata["oldest_sequence"] != "4" {
			t.Fatalf("cursor %d behind the pruned events: %v", after, err)
		}
	}
	events, err := s.Read(ctx, 3, 10)
	if err != nil || len(events) != 2 || events[0].GetSequence() != 4 {
		t.Fatalf("cursor at the mark: %d events (%v), want 4 and 5", len(events), err)
	}
	if events, err := s.Read(ctx, 5, 10); err != nil || len(events) != 0 {
		t.Fatalf("caught-up cursor: %d events, %v", len(events), err)
	}
	// Nothing more is old: pruning again removes nothing and keeps the mark.
	if n, err := Prune(ctx, pool, time.Now().Add(-7*24*time.Hour)); err != nil || n != 0 {
		t.Fatalf("second prune: %d %v", n, err)
	}
}

// TestSealedPayloads: payloads written sealed hold no plaintext at rest,
// stream out as they were written, and one copied into another event's row
// does not open there; payloads written plain before sealing still stream.
func TestSealedPayloads(t *testing.T) {
	t.Parallel()
	url := testdb.New(t, pg.Migrations{Schema: "evt", Sources: []pg.Source{Migrations, envelope.Migrations}})
	ctx := context.Background()
	pool, err := pg.Connect(ctx, url, "evt")
	if err != nil {
		t.Fatal(err)
	}
	defer pool.Close()
	w, err := envelope.Configured("", true)
	if err != nil {
		t.Fatal(err)
	}
	keys, err := envelope.Load(ctx, pool, w)
	if err != nil {
		t.Fatal(err)
	}
	write := func(sealer Sealer, text string) {
		t.Helper()
		if err := pg.InTx(ctx, pool, pgx.ReadCommitted, func(tx pgx.Tx) error {
			return WriteSealed(ctx, tx, sealer, Event{Type: "test.written", Subject: "things/1", Payload: wrapperspb.String(text)})
		}); err != nil {
			t.Fatal(err)
		}
	}
	write(nil, "written before sealing")
	write(keys, "ada@example.com")
	write(keys, "bob@example.com")
	var plain int
	if err := pool.QueryRow(ctx, `SELECT count(*) FROM outbox WHERE position(convert_to('@example.com', 'UTF8') in payload) > 0`).Scan(&plain); err != nil || plain != 0 {
		t.Fatalf("%d payloads hold the plaintext (%v)", plain, err)
	}
	s := NewStreamer(pool, "evt")
	s.OpenWith(keys)
	events, err := s.Read(ctx, 0, 10)
	if err != nil || len(events) != 3 {
		t.Fatalf("Read = %d events, %v", len(events), err)
	}
	for i, want := range []string{"written before sealing", "ada@example.com", "bob@example.com"} {
		var got wrapperspb.StringValue
		if err := events[i].GetPayload().UnmarshalTo(&got); err != nil || got.GetValue() != want {
			t.Errorf("event %d: %q, %v; want %q", i+1, got.GetValue(), err, want)
		}
	}
	// Swap the sealed payloads of two events: neither opens.
	if _, err := pool.Exec(ctx, `UPDATE outbox o SET payload = x.payload FROM outbox x
		WHERE (o.sequence, x.sequence) IN ((2, 3), (3, 2))`); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Read(ctx, 1, 10); errs.KindOf(err) != errs.KindInternal {
		t.Errorf("swapped payloads: %v; want an internal error", err)
	}
}

// TestBulkWriteStreamsInOrder: a Write of many events (copied in rather
// than inserted one by one) records each with its type, subject, actor and
// payload, in the order given, and wakes streaming consumers like a small
// one.
func TestBulkWriteStreamsInOrder(t *testing.T) {
	url := testdb.New(t, pg.Migrations{Schema: "evt", Sources: []pg.Source{Migrations}})
	ctx := context.Background()
	pool, err := pg.Connect(ctx, url, "evt")
	if err != nil {
		t.Fatal(err)
	}
	defer pool.Close()
	s := NewStreamer(pool, "evt")
	runCtx, stop := context.WithCancel(ctx)
	defer stop()
	go s.Run(runCtx)

	sizes := []int{copyFrom * 3, 1, copyFrom}
	want := 0
	for _, n := range sizes {
		events := make([]Event, n)
		for i := range events {
			events[i] = Event{Type: "test.bulk", Subject: fmt.Sprintf("things/%d", want), Actor: "loader", Payload: wrapperspb.Int64(int64(want))}
			want++
		}
		if err := pg.InTx(ctx, pool, pgx.ReadCommitted, func(tx pgx.Tx) error { return Write(ctx, tx, events...) }); err != nil {
			t.Fatal(err)
		}
	}
	var got []*eventv1.Event
	streamCtx, cancel := context.WithTimeout(ctx, 20*time.Second)
	defer cancel()
	err = s.Stream(streamCtx, 0, func(e *eventv1.Event) error {
		if got = append(got, e); len(got) == want {
			cancel()
		}
		return nil
	})
	if err != nil || len(got) != want {
		t.Fatalf("streamed %d of %d events: %v", len(got), want, err)
	}
	for i, e := range got {
		var v wrapperspb.Int64Value
		if err := e.GetPayload().UnmarshalTo(&v); err != nil || v.GetValue() != int64(i) ||
			e.GetType() != "test.bulk" || e.GetSubject() != fmt.Sprintf("things/%d", i) || e.GetActor() != "loader" ||
			(i > 0 && e.GetSequence() <= got[i-1].GetSequence()) {
			t.Fatalf("event %d: %v (payload %d, %v)", i, e, v.GetValue(), err)
		}
	}
}
