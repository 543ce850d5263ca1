package interaction

import (
	"context"
	"slices"

	"github.com/kehu-crm/kehu/pkg/auth"
	"github.com/kehu-crm/kehu/pkg/caredate"
	"github.com/kehu-crm/kehu/pkg/errs"
	"github.com/kehu-crm/kehu/pkg/idempotency"
	"github.com/kehu-crm/kehu/pkg/pagetoken"
	"github.com/kehu-crm/kehu/pkg/resource"
)

// normalizeCareRule validates a care rule; filterCheck compiles its
// customer filter.
func normalizeCareRule(r *CareRule, prefix string, filterCheck func(string) error) error {
	var v errs.Violations
	f := func(s string) string { return prefix + "." + s }
	r.DisplayName = checkText(&v, f("display_name"), r.DisplayName, maxShortText, true)
	switch r.Occasion {
	case "":
		v.Add(f("occasion"), "is required")
	case OccasionFixedDate:
		if _, err := caredate.ParseSpecs(f("dates"), r.Dates); err != nil {
			if e, ok := errs.As(err); ok && len(e.Violations) > 0 {
				for _, fv := range e.Violations {
					v.Add(fv.Field, "%s", fv.Description)
				}
			} else {
				v.Add(f("dates"), "%v", err)
			}
		}
	default:
		if len(r.Dates) > 0 {
			v.Add(f("dates"), "are only for FIXED_DATE rules")
		}
	}
	if err := caredate.CheckLeadDays(f("lead_days"), r.LeadDays); err != nil {
		v.Add(f("lead_days"), "must be between 0 and 365, got %d", r.LeadDays)
	}
	if r.Channel == "" {
		v.Add(f("channel"), "is required")
	}
	r.MessageTemplate = checkText(&v, f("message_template"), r.MessageTemplate, maxTemplate, false)
	checkSubject(&v, f("fallback_assignee"), r.FallbackAssignee)
	if r.CustomerFilter != "" {
		if err := filterCheck(r.CustomerFilter); err != nil {
			desc := err.Error()
			if e, ok := errs.As(err); ok && len(e.Violations) > 0 {
				desc = e.Violations[0].Description
			}
			v.Add(f("customer_filter"), "%s", desc)
		}
	}
	return v.Err()
}

// CreateCareRuleInput is the input of CreateCareRule.
type CreateCareRuleInput struct {
	Rule      *CareRule
	ID        string
	RequestID string
}

// CreateCareRule creates a care rule.
func (s *Service) CreateCareRule(ctx context.Context, in CreateCareRuleInput) (*CareRule, error) {
	if _, err := auth.AccessFrom(ctx); err != nil {
		return nil, err
	}
	if in.Rule == nil {
		return nil, errs.InvalidField("care_rule", "is required")
	}
	r := *in.Rule
	r.Dates = slices.Clone(in.Rule.Dates)
	if in.ID != "" && !slugPattern.MatchString(in.ID) {
		return nil, errs.InvalidField("care_rule_id", "must be 3-63 lower-case letters, digits or '-', starting with a letter; got %q", in.ID)
	}
	if err := normalizeCareRule(&r, "care_rule", s.store.CheckCustomerFilter); err != nil {
		return nil, err
	}
	id, _, err := idempotency.Run(ctx, s.store.InTx, "CreateCareRule", in.RequestID, struct {
		ID   string
		Rule CareRule
	}{in.ID, r}, func(ctx context.Context, tx Tx) (string, error) {
		now := s.now()
		r.ID = in.ID
		if r.ID == "" {
			r.ID = "rule-" + newID()[24:]
		}
		r.Revision, r.CreateTime, r.UpdateTime = 1, now, now
		return r.ID, tx.InsertCareRule(ctx, &r)
	})
	if err != nil {
		return nil, err
	}
	return s.store.GetCareRule(ctx, id)
}

// GetCareRule returns a care rule.
func (s *Service) GetCareRule(ctx context.Context, name string) (*CareRule, error) {
	if _, err := auth.AccessFrom(ctx); err != nil {
		return nil, err
	}
	id, err := ParseCareRuleName("name", name)
	if err != nil {
		return nil, err
	}
	r, err := s.store.GetCareRule(ctx, id)
	return r, notFoundAs(err, name)
}

// ListCareRules lists care rules by id.
func (s *Service) ListCareRules(ctx context.Context, pageSize int32, pageToken string) ([]*CareRule, string, error) {
	if _, err := auth.AccessFrom(ctx); err != nil {
		return nil, "", err
	}
	size, after, err := simplePage(pageSize, pageToken, "careRules")
	if err != nil {
		return nil, "", err
	}
	rows, err := s.store.ListCareRules(ctx, after, size+1)
	if err != nil {
		return nil, "", err
	}
	next := ""
	if len(rows) > size {
		rows = rows[:size]
		next = pagetoken.Encode("careRules", rows[size-1].ID)
	}
	return rows, next, nil
}

func simplePage(pageSize int32, pageToken, query string) (int, string, error) {
	size, err := pagetoken.Size(pageSize, defaultPageSize, maxPageSize)
	if err != nil {
		return 0, "", err
	}
	var after string
	if pageToken != "" {
		if err := pagetoken.Decode(pageToken, query, &after); err != nil {
			return 0, "", err
		}
	}
	return size, after, nil
}

var (
	careRuleUpdatable  = []string{"display_name", "occasion", "dates", "lead_days", "channel", "message_template", "customer_filter", "fallback_assignee", "active"}
	careRuleOutputOnly = []string{"name", "create_time", "update_time", "etag"}
)

// UpdateCareRuleInput is the input of UpdateCareRule.
type UpdateCareRuleInput struct {
	Name      string
	Rule      *CareRule
	Etag      string
	Paths     []string
	RequestID string
}

// UpdateCareRule changes a care rule. Occurrences already generated stay.
func (s *Service) UpdateCareRule(ctx context.Context, in UpdateCareRuleInput) (*CareRule, error) {
	if _, err := auth.AccessFrom(ctx); err != nil {
		return nil, err
	}
	id, err := ParseCareRuleName("care_rule.name", in.Name)
	if err != nil {
		return nil, err
	}
	if in.Rule == nil {
		return nil, errs.InvalidField("care_rule", "is required")
	}
	paths, err := checkMask(in.Paths, careRuleUpdatable, careRuleOutputOnly)
	if err != nil {
		return nil, err
	}
	_, _, err = idempotency.Run(ctx, s.store.InTx, "UpdateCareRule", in.RequestID, in, func(ctx context.Context, tx Tx) (string, error) {
		r, err := tx.LockCareRule(ctx, id)
		if err != nil {
			return "", notFoundAs(err, in.Name)
		}
		if err := resource.CheckEtag(in.Etag, r.Etag(), in.Name); err != nil {
			return "", err
		}
		for _, p := range paths {
			switch p {
			case "display_name":
				r.DisplayName = in.Rule.DisplayName
			case "occasion":
				r.Occasion = in.Rule.Occasion
			case "dates":
				r.Dates = slices.Clone(in.Rule.Dates)
			case "lead_days":
				r.LeadDays = in.Rule.LeadDays
			case "channel":
				r.Channel = in.Rule.Channel
			case "message_template":
				r.MessageTemplate = in.Rule.MessageTemplate
			case "customer_filter":
				r.CustomerFilter = in.Rule.CustomerFilter
			case "fallback_assignee":
				r.FallbackAssignee = in.Rule.FallbackAssignee
			case "active":
				r.Active = in.Rule.Active
			}
		}
		if err := normalizeCareRule(r, "care_rule", s.store.CheckCustomerFilter); err != nil {
			return "", err
		}
		r.Revision++
		r.UpdateTime = s.now()
		return r.ID, tx.UpdateCareRule(ctx, r)
	})
	if err != nil {
		return nil, err
	}
	return s.store.GetCareRule(ctx, id)
}

// DeleteCareRule deletes a care rule; the follow-ups it generated stay.
func (s *Service) DeleteCareRule(ctx context.Context, name, etag string) error {
	if _, err := auth.AccessFrom(ctx); err != nil {
		return err
	}
	id, err := ParseCareRuleName("name", name)
	if err != nil {
		return err
	}
	return s.store.InTx(ctx, func(ctx context.Context, tx Tx) error {
		r, err := tx.LockCareRule(ctx, id)
		if err != nil {
			return notFoundAs(err, name)
		}
		if err := resource.CheckEtag(etag, r.Etag(), name); err != nil {
			return err
		}
		return tx.DeleteCareRule(ctx, id)
	})
}

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

var (
	touchpointUpdatable  = []string{"display_name", "channel", "journey_stage", "description"}
	touchpointOutputOnly = []string{"name", "create_time", "update_time", "etag"}
)

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
	if paths, err = checkMask(paths, touchpointUpdatable, touchpointOutputOnly); err != nil {
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
