package interaction

import (
	"context"
	"fmt"
	"slices"
	"strings"

	"github.com/kehu-crm/kehu/pkg/auth"
	"github.com/kehu-crm/kehu/pkg/customerref"
	"github.com/kehu-crm/kehu/pkg/errs"
	"github.com/kehu-crm/kehu/pkg/event"
	"github.com/kehu-crm/kehu/pkg/idempotency"
	"github.com/kehu-crm/kehu/pkg/pagetoken"
	"github.com/kehu-crm/kehu/pkg/resource"
)

// CreateInteractionInput is the input of CreateInteraction.
type CreateInteractionInput struct {
	Parent      string
	Interaction *Interaction
	RequestID   string
}

// prepare validates one new interaction of customerID and fills defaults.
func (s *Service) prepare(ctx context.Context, a auth.Access, customerID string, in *Interaction, prefix string) (*Interaction, error) {
	if in == nil {
		return nil, errs.InvalidField(prefix, "is required")
	}
	i := *in
	i.ProductCategories = slices.Clone(in.ProductCategories)
	if in.Amount != nil {
		m := *in.Amount
		i.Amount = &m
	}
	if err := normalizeInteraction(&i, prefix, s.now()); err != nil {
		return nil, err
	}
	if i.Agent == "" {
		i.Agent = a.Actor()
	}
	if err := a.CheckAssignee(i.Agent, prefix+".agent"); err != nil {
		return nil, err
	}
	tp, err := s.checkTouchpoint(ctx, prefix+".touchpoint", i.Touchpoint)
	if err != nil {
		return nil, err
	}
	i.Touchpoint = tp
	i.CustomerID = customerID
	return &i, nil
}

// CreateInteraction records an interaction.
func (s *Service) CreateInteraction(ctx context.Context, in CreateInteractionInput) (*Interaction, error) {
	out, err := s.BatchCreateInteractions(ctx, BatchCreateInput{
		Parent: in.Parent, Interactions: []*Interaction{in.Interaction}, RequestID: in.RequestID, single: true,
	})
	if err != nil {
		return nil, err
	}
	return out[0], nil
}

// BatchCreateInput is the input of BatchCreateInteractions.
type BatchCreateInput struct {
	Parent       string
	Interactions []*Interaction
	RequestID    string
	single       bool
}

// BatchCreateInteractions records interactions of one customer, all or
// nothing.
func (s *Service) BatchCreateInteractions(ctx context.Context, in BatchCreateInput) ([]*Interaction, error) {
	a, err := auth.AccessFrom(ctx)
	if err != nil {
		return nil, err
	}
	customerID, err := ParseParent("parent", in.Parent, false)
	if err != nil {
		return nil, err
	}
	switch {
	case len(in.Interactions) == 0:
		return nil, errs.InvalidField("requests", "must not be empty")
	case len(in.Interactions) > maxBatchCreate:
		return nil, errs.InvalidField("requests", "must have at most %d entries, got %d", maxBatchCreate, len(in.Interactions))
	}
	prepared := make([]*Interaction, len(in.Interactions))
	for n, raw := range in.Interactions {
		prefix := fmt.Sprintf("requests[%d].interaction", n)
		if in.single {
			prefix = "interaction"
		}
		if prepared[n], err = s.prepare(ctx, a, customerID, raw, prefix); err != nil {
			return nil, err
		}
	}
	ref, err := customerref.Require(ctx, s.customers, "parent", customerID)
	if err != nil {
		return nil, err
	}
	// A merged customer's name resolves to the survivor, which owns its
	// records from now on.
	customerID = ref.ID
	stage := ref.Stage
	method := "BatchCreateInteractions"
	if in.single {
		method = "CreateInteraction"
	}
	result, _, err := idempotency.Run(ctx, s.store.InTx, method, in.RequestID, struct {
		Parent string
		Items  []*Interaction
	}{in.Parent, in.Interactions}, func(ctx context.Context, tx Tx) (string, error) {
		now := s.now()
		ids := make([]string, len(prepared))
		events := make([]event.Event, len(prepared))
		for n, i := range prepared {
			i.ID, i.CustomerID, i.Stage, i.Revision = newID(), customerID, stage, 1
			i.CreateTime, i.UpdateTime = now, now
			ids[n] = i.ID
			events[n] = event.Event{Type: EventInteractionCreated, Subject: InteractionName(customerID, i.ID), Actor: a.Actor(), Data: i}
		}
		if err := tx.InsertInteractions(ctx, prepared...); err != nil {
			return "", err
		}
		return strings.Join(ids, ","), tx.Emit(ctx, events...)
	})
	if err != nil {
		return nil, err
	}
	out := make([]*Interaction, 0, len(prepared))
	for _, id := range strings.Split(result, ",") {
		i, err := s.readInteraction(ctx, a, id)
		if err != nil {
			return nil, err
		}
		out = append(out, i)
	}
	return out, nil
}

// readInteraction reads an interaction back after a change, as the caller
// may see it now: a replayed request id must not answer what the caller
// can no longer see.
func (s *Service) readInteraction(ctx context.Context, a auth.Access, id string) (*Interaction, error) {
	i, err := s.store.GetInteraction(ctx, id)
	if err != nil {
		return nil, err
	}
	ok, err := s.canSee(ctx, a, i.CustomerID, i.Agent)
	if err != nil {
		return nil, err
	}
	if !ok {
		return nil, errs.NotFound(InteractionName(i.CustomerID, i.ID))
	}
	return viewInteraction(a, i), nil
}

// loadInteraction reads an interaction by name for the caller.
func (s *Service) loadInteraction(ctx context.Context, a auth.Access, name string) (*Interaction, error) {
	customerID, id, err := ParseInteractionName("name", name)
	if err != nil {
		return nil, err
	}
	i, err := s.store.GetInteraction(ctx, id)
	if err != nil {
		return nil, notFoundAs(err, name)
	}
	if i.CustomerID != customerID {
		return nil, errs.NotFound(name)
	}
	ok, err := s.canSee(ctx, a, i.CustomerID, i.Agent)
	if err != nil {
		return nil, err
	}
	if !ok {
		return nil, errs.NotFound(name)
	}
	return i, nil
}

// notFoundAs names the resource the caller asked for in NOT_FOUND errors.
func notFoundAs(err error, name string) error {
	if errs.Is(err, errs.KindNotFound) {
		return errs.NotFound(name)
	}
	return err
}

// GetInteraction returns an interaction.
func (s *Service) GetInteraction(ctx context.Context, name string) (*Interaction, error) {
	a, err := auth.AccessFrom(ctx)
	if err != nil {
		return nil, err
	}
	i, err := s.loadInteraction(ctx, a, name)
	if err != nil {
		return nil, err
	}
	return viewInteraction(a, i), nil
}

// ListInput pages through a collection under a parent.
type ListInput struct {
	Parent      string
	Filter      string
	PageSize    int32
	PageToken   string
	ShowDeleted bool
}

// listQuery validates paging and builds the store query.
func listQuery(a auth.Access, kind string, in ListInput) (ListQuery, string, error) {
	customerID, err := ParseParent("parent", in.Parent, true)
	if err != nil {
		return ListQuery{}, "", err
	}
	size, err := pagetoken.Size(in.PageSize, defaultPageSize, maxPageSize)
	if err != nil {
		return ListQuery{}, "", err
	}
	if customerID == AnyCustomer {
		customerID = ""
	}
	query := fmt.Sprintf("%s\x00%s\x00%s\x00%t\x00%s", kind, in.Parent, in.Filter, in.ShowDeleted, a.Scope())
	q := ListQuery{CustomerID: customerID, Filter: in.Filter, ShowDeleted: in.ShowDeleted, Scope: a.Scope(), Hidden: hiddenFrom(a), Limit: size + 1}
	if in.PageToken != "" {
		if err := pagetoken.Decode(in.PageToken, query, &q.After); err != nil {
			return ListQuery{}, "", err
		}
	}
	return q, query, nil
}

// ListInteractions lists interactions, newest first.
func (s *Service) ListInteractions(ctx context.Context, in ListInput) ([]*Interaction, string, error) {
	a, err := auth.AccessFrom(ctx)
	if err != nil {
		return nil, "", err
	}
	q, query, err := listQuery(a, "interactions", in)
	if err != nil {
		return nil, "", err
	}
	if q.Scope, err = s.listScope(ctx, a, q.CustomerID); err != nil {
		return nil, "", err
	}
	rows, err := s.store.ListInteractions(ctx, q)
	if err != nil {
		return nil, "", err
	}
	next := ""
	if len(rows) == q.Limit {
		rows = rows[:len(rows)-1]
		last := rows[len(rows)-1]
		next = pagetoken.Encode(query, Cursor{Time: last.OccurTime, ID: last.ID})
	}
	for n, i := range rows {
		rows[n] = viewInteraction(a, i)
	}
	return rows, next, nil
}

// interactionFields are the update_mask paths of an interaction.
var interactionFields = resource.Fields{
	Updatable:  []string{"channel", "direction", "kind", "occur_time", "duration", "subject", "summary", "agent", "touchpoint", "satisfaction", "sentiment", "amount", "order_reference", "product_categories"},
	OutputOnly: []string{"name", "lifecycle_stage", "follow_up", "create_time", "update_time", "delete_time", "etag"},
}

// UpdateInteractionInput is the input of UpdateInteraction.
type UpdateInteractionInput struct {
	Name        string
	Interaction *Interaction
	Etag        string
	Paths       []string
	RequestID   string
}

// UpdateInteraction changes the fields named in Paths.
func (s *Service) UpdateInteraction(ctx context.Context, in UpdateInteractionInput) (*Interaction, error) {
	a, err := auth.AccessFrom(ctx)
	if err != nil {
		return nil, err
	}
	if in.Interaction == nil {
		return nil, errs.InvalidField("interaction", "is required")
	}
	paths, err := interactionFields.CheckMask(in.Paths)
	if err != nil {
		return nil, err
	}
	cur, err := s.loadInteraction(ctx, a, in.Name)
	if err != nil {
		return nil, err
	}
	if slices.Contains(paths, "touchpoint") {
		if in.Interaction.Touchpoint, err = s.checkTouchpoint(ctx, "interaction.touchpoint", in.Interaction.Touchpoint); err != nil {
			return nil, err
		}
	}
	id, _, err := idempotency.Run(ctx, s.store.InTx, "UpdateInteraction", in.RequestID, in, func(ctx context.Context, tx Tx) (string, error) {
		locked, err := tx.LockInteraction(ctx, cur.ID)
		if err != nil {
			return "", err
		}
		if locked.DeleteTime != nil {
			return "", errs.FailedPrecondition("INTERACTION_DELETED", "%s is deleted; undelete it first", in.Name)
		}
		if err := resource.CheckEtag(in.Etag, locked.Etag(), in.Name); err != nil {
			return "", err
		}
		next := *locked
		applyInteractionMask(&next, in.Interaction, paths)
		if err := normalizeInteraction(&next, "interaction", s.now()); err != nil {
			return "", err
		}
		if next.Agent != locked.Agent {
			if err := a.CheckAssignee(next.Agent, "interaction.agent"); err != nil {
				return "", err
			}
		}
		next.Revision++
		next.UpdateTime = s.now()
		if err := tx.UpdateInteraction(ctx, &next); err != nil {
			return "", err
		}
		return next.ID, tx.Emit(ctx, event.Event{Type: EventInteractionUpdated, Subject: in.Name, Actor: a.Actor(), Data: &next})
	})
	if err != nil {
		return nil, err
	}
	return s.readInteraction(ctx, a, id)
}

func applyInteractionMask(dst, src *Interaction, paths []string) {
	for _, p := range paths {
		switch p {
		case "channel":
			dst.Channel = src.Channel
		case "direction":
			dst.Direction = src.Direction
		case "kind":
			dst.Kind = src.Kind
		case "occur_time":
			dst.OccurTime = src.OccurTime
		case "duration":
			dst.Duration = src.Duration
		case "subject":
			dst.Subject = src.Subject
		case "summary":
			dst.Summary = src.Summary
		case "agent":
			dst.Agent = src.Agent
		case "touchpoint":
			dst.Touchpoint = src.Touchpoint
		case "satisfaction":
			dst.Satisfaction = src.Satisfaction
		case "sentiment":
			dst.Sentiment = src.Sentiment
		case "amount":
			dst.Amount = nil
			if src.Amount != nil {
				m := *src.Amount
				dst.Amount = &m
			}
		case "order_reference":
			dst.OrderReference = src.OrderReference
		case "product_categories":
			dst.ProductCategories = slices.Clone(src.ProductCategories)
		}
	}
}

// DeleteInteraction soft-deletes an interaction.
func (s *Service) DeleteInteraction(ctx context.Context, in resource.Mutation) (*Interaction, error) {
	return s.setInteractionDeleted(ctx, in, true)
}

// UndeleteInteraction restores a soft-deleted interaction.
func (s *Service) UndeleteInteraction(ctx context.Context, in resource.Mutation) (*Interaction, error) {
	return s.setInteractionDeleted(ctx, in, false)
}

func (s *Service) setInteractionDeleted(ctx context.Context, in resource.Mutation, deleted bool) (*Interaction, error) {
	a, err := auth.AccessFrom(ctx)
	if err != nil {
		return nil, err
	}
	cur, err := s.loadInteraction(ctx, a, in.Name)
	if err != nil {
		return nil, err
	}
	method, evType := "DeleteInteraction", EventInteractionDeleted
	if !deleted {
		method, evType = "UndeleteInteraction", EventInteractionUndeleted
	}
	id, _, err := idempotency.Run(ctx, s.store.InTx, method, in.RequestID, in, func(ctx context.Context, tx Tx) (string, error) {
		locked, err := tx.LockInteraction(ctx, cur.ID)
		if err != nil {
			return "", err
		}
		if err := resource.CheckEtag(in.Etag, locked.Etag(), in.Name); err != nil {
			return "", err
		}
		switch {
		case deleted && locked.DeleteTime != nil:
			return "", errs.FailedPrecondition("ALREADY_DELETED", "%s is already deleted", in.Name)
		case !deleted && locked.DeleteTime == nil:
			return "", errs.FailedPrecondition("NOT_DELETED", "%s is not deleted", in.Name)
		}
		now := s.now()
		locked.DeleteTime = nil
		if deleted {
			locked.DeleteTime = &now
		}
		locked.Revision++
		locked.UpdateTime = now
		if err := tx.UpdateInteraction(ctx, locked); err != nil {
			return "", err
		}
		return locked.ID, tx.Emit(ctx, event.Event{Type: evType, Subject: in.Name, Actor: a.Actor(), Data: locked})
	})
	if err != nil {
		return nil, err
	}
	return s.readInteraction(ctx, a, id)
}
