package e2e_test

import (
	"context"
	"strings"
	"testing"

	"github.com/jackc/pgx/v5"
)

// cursor is where a follower stands on a stream it follows.
type cursor struct {
	Follower, Stream string
	// Applied is the last event the follower applied; Head the stream's
	// last event.
	Applied, Head int64
}

// cursors reads every follower's cursors with the head of each stream
// they follow. A cursor is named after the schema whose stream it follows
// (the webhooks' with a "webhooks:" prefix).
func cursors(t *testing.T, conn *pgx.Conn) []cursor {
	t.Helper()
	var out []cursor
	for _, follower := range []string{"interaction", "servicedesk", "analytics"} {
		rows, err := conn.Query(context.Background(), `SELECT stream, sequence FROM `+follower+`.consumer_cursors ORDER BY stream`)
		if err != nil {
			t.Fatal(err)
		}
		var (
			stream  string
			applied int64
		)
		if _, err := pgx.ForEachRow(rows, []any{&stream, &applied}, func() error {
			out = append(out, cursor{Follower: follower, Stream: stream, Applied: applied})
			return nil
		}); err != nil {
			t.Fatal(err)
		}
	}
	for i, c := range out {
		schema := pgx.Identifier{strings.TrimPrefix(c.Stream, "webhooks:")}.Sanitize()
		if err := conn.QueryRow(context.Background(), `SELECT coalesce(max(sequence), 0) FROM `+schema+`.outbox`).Scan(&out[i].Head); err != nil {
			t.Fatal(err)
		}
	}
	return out
}
