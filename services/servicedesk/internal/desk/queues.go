package desk

import (
	"context"
	"slices"

	"github.com/kehu-crm/kehu/pkg/errs"
	"github.com/kehu-crm/kehu/pkg/pagetoken"
	"github.com/kehu-crm/kehu/pkg/resource"
)

// Queues and SLA policies are configuration, managed by managers: no
// request ids (the caller chooses the id, so a retry is ALREADY_EXISTS)
// and no events.

// CreateQueue creates a queue named queues/{id}.
func (s *Service) CreateQueue(ctx context.Context, id string, in *Queue) (*Queue, error) {
	if in == nil {
		return nil, errs.InvalidField("queue", "is required")
	}
	q := *in
	q.Members = slices.Clone(in.Members)
	var v errs.Violations
	if !slugPattern.MatchString(id) {
		v.Add("queue_id", "must be 2-63 lower-case letters, digits or '-', starting with a letter, got %q", id)
	}
	if err := checkQueue(&q, "queue"); err != nil {
		if e, ok := errs.As(err); ok {
			for _, fv := range e.Violations {
				v.Add(fv.Field, "%s", fv.Description)
			}
		}
	}
	if err := v.Err(); err != nil {
		return nil, err
	}
	now := s.now()
	q.ID, q.Revision, q.CreateTime, q.UpdateTime = id, 1, now, now
	err := s.store.InTx(ctx, func(ctx context.Context, tx Tx) error { return tx.InsertQueue(ctx, &q) })
	if err != nil {
		return nil, err
	}
	return s.store.GetQueue(ctx, id)
}

// GetQueue returns a queue.
func (s *Service) GetQueue(ctx context.Context, name string) (*Queue, error) {
	id, err := ParseQueueName("name", name)
	if err != nil {
		return nil, err
	}
	q, err := s.store.GetQueue(ctx, id)
	return q, notFoundAs(err, name)
}

// ListQueues lists queues in routing order.
func (s *Service) ListQueues(ctx context.Context, pageSize int32, pageToken string) ([]*Queue, string, error) {
	return listConfig(ctx, "queues", pageSize, pageToken, s.store.ListQueues, func(q *Queue) string { return q.ID })
}

// queueFields are the update_mask paths of a queue.
var queueFields = resource.Fields{
	Updatable:  []string{"display_name", "description", "members", "route_types", "route_channels", "route_value_tiers", "routing_order", "complaint_queue"},
	OutputOnly: []string{"name", "create_time", "update_time", "etag"},
}

// UpdateQueue changes the fields named in paths; in.Etag, when set, must
// match.
func (s *Service) UpdateQueue(ctx context.Context, name, etag string, in *Queue, paths []string) (*Queue, error) {
	if in == nil {
		return nil, errs.InvalidField("queue", "is required")
	}
	id, err := ParseQueueName("queue.name", name)
	if err != nil {
		return nil, err
	}
	if paths, err = queueFields.CheckMask(paths); err != nil {
		return nil, err
	}
	err = s.store.InTx(ctx, func(ctx context.Context, tx Tx) error {
		q, err := tx.LockQueue(ctx, id)
		if err != nil {
			return notFoundAs(err, name)
		}
		if err := resource.CheckEtag(etag, q.Etag(), name); err != nil {
			return err
		}
		for _, p := range paths {
			switch p {
			case "display_name":
				q.DisplayName = in.DisplayName
			case "description":
				q.Description = in.Description
			case "members":
				q.Members = slices.Clone(in.Members)
			case "route_types":
				q.RouteTypes = in.RouteTypes
			case "route_channels":
				q.RouteChannels = in.RouteChannels
			case "route_value_tiers":
				q.RouteValueTiers = in.RouteValueTiers
			case "routing_order":
				q.RoutingOrder = in.RoutingOrder
			case "complaint_queue":
				q.ComplaintQueue = in.ComplaintQueue
			}
		}
		if err := checkQueue(q, "queue"); err != nil {
			return err
		}
		q.Revision++
		q.UpdateTime = s.now()
		return tx.UpdateQueue(ctx, q)
	})
	if err != nil {
		return nil, err
	}
	return s.store.GetQueue(ctx, id)
}

// DeleteQueue deletes a queue in which no active ticket waits.
func (s *Service) DeleteQueue(ctx context.Context, name, etag string) error {
	id, err := ParseQueueName("name", name)
	if err != nil {
		return err
	}
	return s.store.InTx(ctx, func(ctx context.Context, tx Tx) error {
		q, err := tx.LockQueue(ctx, id)
		if err != nil {
			return notFoundAs(err, name)
		}
		if err := resource.CheckEtag(etag, q.Etag(), name); err != nil {
			return err
		}
		return tx.DeleteQueue(ctx, id)
	})
}

// listConfig pages a configuration collection by id.
func listConfig[T any](ctx context.Context, kind string, pageSize int32, pageToken string,
	list func(context.Context, Cursor, int) ([]T, error), idOf func(T) string,
) ([]T, string, error) {
	size, err := pagetoken.Size(pageSize, defaultPageSize, maxPageSize)
	if err != nil {
		return nil, "", err
	}
	var after Cursor
	if pageToken != "" {
		if err := pagetoken.Decode(pageToken, kind, &after); err != nil {
			return nil, "", err
		}
	}
	rows, err := list(ctx, after, size+1)
	if err != nil {
		return nil, "", err
	}
	next := ""
	if len(rows) > size {
		rows = rows[:size]
		next = pagetoken.Encode(kind, Cursor{ID: idOf(rows[size-1])})
	}
	return rows, next, nil
}
