package desk

import (
	"context"
	"slices"

	"github.com/kehu-crm/kehu/pkg/errs"
	"github.com/kehu-crm/kehu/pkg/resource"
)

// CreatePolicy creates an SLA policy named slaPolicies/{id}.
func (s *Service) CreatePolicy(ctx context.Context, id string, in *Policy) (*Policy, error) {
	if in == nil {
		return nil, errs.InvalidField("sla_policy", "is required")
	}
	p := clonePolicy(in)
	var v errs.Violations
	if !slugPattern.MatchString(id) {
		v.Add("sla_policy_id", "must be 2-63 lower-case letters, digits or '-', starting with a letter, got %q", id)
	}
	if err := checkPolicy(p, "sla_policy"); err != nil {
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
	p.ID, p.Revision, p.CreateTime, p.UpdateTime = id, 1, now, now
	if err := s.store.InTx(ctx, func(ctx context.Context, tx Tx) error { return tx.InsertPolicy(ctx, p) }); err != nil {
		return nil, err
	}
	return s.store.GetPolicy(ctx, id)
}

func clonePolicy(in *Policy) *Policy {
	p := *in
	p.Priorities, p.Types, p.ValueTiers = slices.Clone(in.Priorities), slices.Clone(in.Types), slices.Clone(in.ValueTiers)
	p.Calendar = Calendar{TimeZone: in.Calendar.TimeZone, Holidays: slices.Clone(in.Calendar.Holidays), MakeUpDays: slices.Clone(in.Calendar.MakeUpDays)}
	for d := range in.Calendar.Week {
		p.Calendar.Week[d] = slices.Clone(in.Calendar.Week[d])
	}
	return &p
}

// GetPolicy returns an SLA policy.
func (s *Service) GetPolicy(ctx context.Context, name string) (*Policy, error) {
	id, err := ParsePolicyName("name", name)
	if err != nil {
		return nil, err
	}
	p, err := s.store.GetPolicy(ctx, id)
	return p, notFoundAs(err, name)
}

// ListPolicies lists SLA policies by precedence.
func (s *Service) ListPolicies(ctx context.Context, pageSize int32, pageToken string) ([]*Policy, string, error) {
	return listConfig(ctx, "slaPolicies", pageSize, pageToken, s.store.ListPolicies, func(p *Policy) string { return p.ID })
}

// policyFields are the update_mask paths of a policy.
var policyFields = resource.Fields{
	Updatable:  []string{"display_name", "priorities", "types", "value_tiers", "precedence", "first_response_target", "resolution_target", "calendar"},
	OutputOnly: []string{"name", "create_time", "update_time", "etag"},
}

// UpdatePolicy changes the fields named in paths. Tickets keep their
// targets; a changed calendar applies to their clocks from now on.
func (s *Service) UpdatePolicy(ctx context.Context, name, etag string, in *Policy, paths []string) (*Policy, error) {
	if in == nil {
		return nil, errs.InvalidField("sla_policy", "is required")
	}
	id, err := ParsePolicyName("sla_policy.name", name)
	if err != nil {
		return nil, err
	}
	if paths, err = policyFields.CheckMask(paths); err != nil {
		return nil, err
	}
	in = clonePolicy(in)
	err = s.store.InTx(ctx, func(ctx context.Context, tx Tx) error {
		p, err := tx.LockPolicy(ctx, id)
		if err != nil {
			return notFoundAs(err, name)
		}
		if err := resource.CheckEtag(etag, p.Etag(), name); err != nil {
			return err
		}
		for _, path := range paths {
			switch path {
			case "display_name":
				p.DisplayName = in.DisplayName
			case "priorities":
				p.Priorities = in.Priorities
			case "types":
				p.Types = in.Types
			case "value_tiers":
				p.ValueTiers = in.ValueTiers
			case "precedence":
				p.Precedence = in.Precedence
			case "first_response_target":
				p.FirstResponseTarget = in.FirstResponseTarget
			case "resolution_target":
				p.ResolutionTarget = in.ResolutionTarget
			case "calendar":
				p.Calendar = in.Calendar
			}
		}
		if err := checkPolicy(p, "sla_policy"); err != nil {
			return err
		}
		p.Revision++
		p.UpdateTime = s.now()
		return tx.UpdatePolicy(ctx, p)
	})
	if err != nil {
		return nil, err
	}
	return s.store.GetPolicy(ctx, id)
}

// DeletePolicy deletes a policy no active ticket runs on.
func (s *Service) DeletePolicy(ctx context.Context, name, etag string) error {
	id, err := ParsePolicyName("name", name)
	if err != nil {
		return err
	}
	return s.store.InTx(ctx, func(ctx context.Context, tx Tx) error {
		p, err := tx.LockPolicy(ctx, id)
		if err != nil {
			return notFoundAs(err, name)
		}
		if err := resource.CheckEtag(etag, p.Etag(), name); err != nil {
			return err
		}
		return tx.DeletePolicy(ctx, id)
	})
}
