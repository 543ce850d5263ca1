// Package outbox is Kehu's transactional outbox. A service writes its domain
// events into its own outbox table in the same transaction as the change,
// so an event exists if and only if the change committed. Other services
// follow the outbox through a server-streaming StreamEvents RPC and resume
// from the last sequence they handled.
//
// Writers serialise on a per-schema transaction-scoped advisory lock while
// they insert, which makes sequence order equal commit order: a consumer that
// has seen sequence N can never later miss a smaller one committed late.
package outbox

import (
	"context"
	"fmt"
	"strings"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/anypb"
)

// Event is a domain event to record.
type Event struct {
	// Type is dotted, e.g. "customer.created".
	Type string
	// Subject is the resource name the event is about.
	Subject string
	// Actor is who caused the change.
	Actor string
	// Payload is the type-specific message; it travels as an Any.
	Payload proto.Message
}

// Sealer encrypts payloads at rest (package envelope's Keyring does): a
// service whose events carry personal data writes them sealed, bound to
// their event id, and its Streamer opens them for StreamEvents, so
// consumers receive what they did before while the table holds ciphertext.
type Sealer interface {
	Seal(plain, ad []byte) []byte
	Open(ctx context.Context, sealed, ad []byte) ([]byte, error)
}

// PayloadAD binds a sealed payload to its event: a payload copied into
// another event's row does not open there.
func PayloadAD(id string) []byte { return []byte("outbox.payload/" + id) }

// Write appends events to the outbox of the transaction's schema (the first
// one on its search_path) and wakes streaming consumers after commit.
func Write(ctx context.Context, tx pgx.Tx, events ...Event) error {
	return WriteSealed(ctx, tx, nil, events...)
}

// WriteSealed is Write with the payloads sealed by sealer (plain if nil).
func WriteSealed(ctx context.Context, tx pgx.Tx, sealer Sealer, events ...Event) error {
	if len(events) == 0 {
		return nil
	}
	if _, err := tx.Exec(ctx, `SELECT pg_advisory_xact_lock(hashtext(current_schema() || '.outbox'))`); err != nil {
		return fmt.Errorf("locking the outbox: %w", err)
	}
	rows := make([][]any, len(events))
	for i, e := range events {
		var payload []byte
		if e.Payload != nil {
			a, err := anypb.New(e.Payload)
			if err != nil {
				return fmt.Errorf("packing %s payload: %w", e.Type, err)
			}
			if payload, err = proto.Marshal(a); err != nil {
				return fmt.Errorf("encoding %s payload: %w", e.Type, err)
			}
		}
		id, err := uuid.NewV7()
		if err != nil {
			return err
		}
		if payload != nil && sealer != nil {
			payload = sealer.Seal(payload, PayloadAD(id.String()))
		}
		rows[i] = []any{id, e.Type, e.Subject, e.Actor, payload}
	}
	batch := &pgx.Batch{}
	if len(rows) < copyFrom {
		for _, r := range rows {
			batch.Queue(`INSERT INTO outbox (id, type, subject, actor, payload) VALUES ($1, $2, $3, $4, $5)`, r...)
		}
	} else if _, err := tx.CopyFrom(ctx, pgx.Identifier{"outbox"}, []string{"id", "type", "subject", "actor", "payload"}, pgx.CopyFromRows(rows)); err != nil {
		return fmt.Errorf("copying events: %w", err)
	}
	// NOTIFY is delivered at commit, and only if the transaction commits.
	batch.Queue(`SELECT pg_notify(current_schema() || '_outbox', '')`)
	return tx.SendBatch(ctx, batch).Close()
}

// copyFrom is the number of events from which Write copies them in (one
// COPY, sequences in the order given) instead of inserting each: COPY
// costs a round trip more, each INSERT a statement more.
const copyFrom = 32

// Erase blanks the payloads of every event about subject and the resources
// under it ("customers/1" covers "customers/1/interactions/2"), for erasure
// requests: the event sequence stays intact (consumers still see that
// something happened) but no personal data survives in the outbox.
func Erase(ctx context.Context, tx pgx.Tx, subject string) (int64, error) {
	under := strings.NewReplacer(`\`, `\\`, `%`, `\%`, `_`, `\_`).Replace(subject) + "/%"
	tag, err := tx.Exec(ctx, `UPDATE outbox SET payload = NULL
		WHERE (subject = $1 OR subject LIKE $2) AND payload IS NOT NULL`, subject, under)
	if err != nil {
		return 0, err
	}
	return tag.RowsAffected(), nil
}
