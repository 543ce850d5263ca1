package outbox

import (
	"context"
	"fmt"

	"github.com/jackc/pgx/v5"
	"google.golang.org/protobuf/proto"

	"github.com/kehu-crm/kehu/pkg/errs"
	"github.com/kehu-crm/kehu/pkg/event"
	"github.com/kehu-crm/kehu/pkg/pg"
)

// Codec turns a domain event into its published payload. A service's gRPC
// layer provides it, which keeps protobuf out of the domain.
type Codec func(event.Event) (proto.Message, error)

// Emitter writes domain events to the outbox of one transaction. A store's
// transaction type embeds it to implement the domain's Emit.
type Emitter struct {
	Tx    pgx.Tx
	Codec Codec
	// Sealer, if set, encrypts the payloads at rest (see Sealer).
	Sealer Sealer
}

// Emit encodes events and writes them in the emitter's transaction.
func (e Emitter) Emit(ctx context.Context, events ...event.Event) error {
	if len(events) == 0 {
		return nil
	}
	out := make([]Event, len(events))
	for i, ev := range events {
		payload, err := e.Codec(ev)
		if err != nil {
			return errs.Internal(fmt.Errorf("encoding %s event: %w", ev.Type, err))
		}
		out[i] = Event{Type: ev.Type, Subject: ev.Subject, Actor: ev.Actor, Payload: payload}
	}
	return pg.Classify(WriteSealed(ctx, e.Tx, e.Sealer, out...))
}
