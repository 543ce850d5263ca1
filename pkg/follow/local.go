package follow

import (
	"context"
	"io"

	eventv1 "github.com/kehu-crm/kehu/pkg/api/kehu/event/v1"
)

// Local is a Source over a stream served in this process, such as a
// service's own outbox (outbox.Streamer.Stream): the service follows its
// own events without a connection to itself.
func Local(stream func(ctx context.Context, after int64, send func(*eventv1.Event) error) error) Source {
	return func(ctx context.Context, after int64) (Stream, error) {
		items := make(chan localItem)
		go func() {
			err := stream(ctx, after, func(e *eventv1.Event) error {
				select {
				case items <- localItem{e: e}:
					return nil
				case <-ctx.Done():
					return ctx.Err()
				}
			})
			if err == nil {
				err = io.EOF
			}
			select {
			case items <- localItem{err: err}:
			case <-ctx.Done():
			}
		}()
		return localStream{ctx: ctx, items: items}, nil
	}
}

type localItem struct {
	e   *eventv1.Event
	err error
}

type localStream struct {
	ctx   context.Context
	items chan localItem
}

func (s localStream) Recv() (*eventv1.Event, error) {
	select {
	case it := <-s.items:
		return it.e, it.err
	case <-s.ctx.Done():
		return nil, s.ctx.Err()
	}
}
