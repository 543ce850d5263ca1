// Package importstream bounds a client-streaming bulk import (customers,
// interactions) in rows and duration, the same way in every service: the
// batches merged before a limit is hit stay, and the error says how to
// send the rest.
package importstream

import (
	"context"
	"errors"
	"io"
	"time"

	"github.com/kehu-crm/kehu/pkg/errs"
)

// Limits bound what one import stream can cost; zero means no bound.
type Limits struct {
	MaxRows     int64
	MaxDuration time.Duration
}

// Receive calls handle with each message recv returns until the client
// closes its side (io.EOF), counting rows(msg) against the limits.
func Receive[T any](ctx context.Context, limits Limits, recv func() (T, error), rows func(T) int, handle func(T) error) error {
	var timeout <-chan time.Time
	if limits.MaxDuration > 0 {
		timer := time.NewTimer(limits.MaxDuration)
		defer timer.Stop()
		timeout = timer.C
	}
	// Recv blocks until the client sends; it runs apart so that the time
	// limit holds against a client that goes quiet. Returning ends the
	// stream, which ends the receiver.
	received := make(chan T)
	failed := make(chan error, 1)
	go func() {
		for {
			msg, err := recv()
			if err != nil {
				failed <- err
				return
			}
			select {
			case received <- msg:
			case <-ctx.Done():
				return
			}
		}
	}()
	var total int64
	for {
		select {
		case <-timeout:
			return errs.DeadlineExceeded("IMPORT_TOO_LONG",
				"an import stream may last at most %s; the batches merged so far stay, send the rest in another import", limits.MaxDuration)
		case err := <-failed:
			if errors.Is(err, io.EOF) {
				return nil
			}
			return err
		case msg := <-received:
			if total += int64(rows(msg)); limits.MaxRows > 0 && total > limits.MaxRows {
				return errs.ResourceExhausted("IMPORT_TOO_LARGE",
					"an import stream takes at most %d rows; the batches merged so far stay, send the rest in another import", limits.MaxRows)
			}
			if err := handle(msg); err != nil {
				return err
			}
		}
	}
}
