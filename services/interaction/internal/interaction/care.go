package interaction

import (
	"context"
	"slices"

	"github.com/kehu-crm/kehu/pkg/auth"
	"github.com/kehu-crm/kehu/pkg/errs"
	"github.com/kehu-crm/kehu/pkg/idempotency"
	"github.com/kehu-crm/kehu/pkg/pagetoken"
	"github.com/kehu-crm/kehu/pkg/resource"
)

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

// careRuleFields are the update_mask paths of a care rule.
var careRuleFields = resource.Fields{
	Updatable:  []string{"display_name", "occasion", "dates", "lead_days", "channel", "message_template", "customer_filter", "fallback_assignee", "active"},
	OutputOnly: []string{"name", "create_time", "update_time", "etag"},
}

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
	paths, err := careRuleFields.CheckMask(in.Paths)
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
