package interaction

import (
	"context"

	"github.com/kehu-crm/kehu/pkg/auth"
	"github.com/kehu-crm/kehu/pkg/errs"
	"github.com/kehu-crm/kehu/pkg/pagetoken"
	"github.com/kehu-crm/kehu/pkg/resource"
)

// CreateTouchpoint creates a touchpoint with a chosen id.
func (s *Service) CreateTouchpoint(ctx context.Context, id string, t *Touchpoint) (*Touchpoint, error) {
	if _, err := auth.AccessFrom(ctx); err != nil {
		return nil, err
	}
	if !slugPattern.MatchString(id) {
		return nil, errs.InvalidField("touchpoint_id", "must be 3-63 lower-case letters, digits or '-', starting with a letter; got %q", id)
	}
	if t == nil {
		return nil, errs.InvalidField("touchpoint", "is required")
	}
	c := *t
	if err := normalizeTouchpoint(&c, "touchpoint"); err != nil {
		return nil, err
	}
	err := s.store.InTx(ctx, func(ctx context.Context, tx Tx) error {
		now := s.now()
		c.ID, c.Revision, c.CreateTime, c.UpdateTime = id, 1, now, now
		return tx.InsertTouchpoint(ctx, &c)
	})
	if err != nil {
		return nil, err
	}
	return s.store.GetTouchpoint(ctx, id)
}

// GetTouchpoint returns a touchpoint.
func (s *Service) GetTouchpoint(ctx context.Context, name string) (*Touchpoint, error) {
	if _, err := auth.AccessFrom(ctx); err != nil {
		return nil, err
	}
	id, err := ParseTouchpointName("name", name)
	if err != nil {
		return nil, err
	}
	t, err := s.store.GetTouchpoint(ctx, id)
	return t, notFoundAs(err, name)
}

// ListTouchpoints lists touchpoints by id.
func (s *Service) ListTouchpoints(ctx context.Context, pageSize int32, pageToken string) ([]*Touchpoint, string, error) {
	if _, err := auth.AccessFrom(ctx); err != nil {
		return nil, "", err
	}
	size, after, err := simplePage(pageSize, pageToken, "touchpoints")
	if err != nil {
		return nil, "", err
	}
	rows, err := s.store.ListTouchpoints(ctx, after, size+1)
	if err != nil {
		return nil, "", err
	}
	next := ""
	if len(rows) > size {
		rows = rows[:size]
		next = pagetoken.Encode("touchpoints", rows[size-1].ID)
	}
	return rows, next, nil
}

// touchpointFields are the update_mask paths of a touchpoint.
var touchpointFields = resource.Fields{
	Updatable:  []string{"display_name", "channel", "journey_stage", "description"},
	OutputOnly: []string{"name", "create_time", "update_time", "etag"},
}

// UpdateTouchpoint changes a touchpoint.
func (s *Service) UpdateTouchpoint(ctx context.Context, name string, t *Touchpoint, etag string, paths []string) (*Touchpoint, error) {
	if _, err := auth.AccessFrom(ctx); err != nil {
		return nil, err
	}
	id, err := ParseTouchpointName("touchpoint.name", name)
	if err != nil {
		return nil, err
	}
	if t == nil {
		return nil, errs.InvalidField("touchpoint", "is required")
	}
	if paths, err = touchpointFields.CheckMask(paths); err != nil {
		return nil, err
	}
	err = s.store.InTx(ctx, func(ctx context.Context, tx Tx) error {
		cur, err := tx.LockTouchpoint(ctx, id)
		if err != nil {
			return notFoundAs(err, name)
		}
		if err := resource.CheckEtag(etag, cur.Etag(), name); err != nil {
			return err
		}
		for _, p := range paths {
			switch p {
			case "display_name":
				cur.DisplayName = t.DisplayName
			case "channel":
				cur.Channel = t.Channel
			case "journey_stage":
				cur.JourneyStage = t.JourneyStage
			case "description":
				cur.Description = t.Description
			}
		}
		if err := normalizeTouchpoint(cur, "touchpoint"); err != nil {
			return err
		}
		cur.Revision++
		cur.UpdateTime = s.now()
		return tx.UpdateTouchpoint(ctx, cur)
	})
	if err != nil {
		return nil, err
	}
	return s.store.GetTouchpoint(ctx, id)
}

// DeleteTouchpoint deletes a touchpoint no interaction references.
func (s *Service) DeleteTouchpoint(ctx context.Context, name, etag string) error {
	if _, err := auth.AccessFrom(ctx); err != nil {
		return err
	}
	id, err := ParseTouchpointName("name", name)
	if err != nil {
		return err
	}
	return s.store.InTx(ctx, func(ctx context.Context, tx Tx) error {
		cur, err := tx.LockTouchpoint(ctx, id)
		if err != nil {
			return notFoundAs(err, name)
		}
		if err := resource.CheckEtag(etag, cur.Etag(), name); err != nil {
			return err
		}
		return tx.DeleteTouchpoint(ctx, id)
	})
}
