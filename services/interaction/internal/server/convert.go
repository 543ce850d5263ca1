package server

import (
	"google.golang.org/protobuf/types/known/durationpb"
	"google.golang.org/protobuf/types/known/timestamppb"

	customerv1 "github.com/kehu-crm/kehu/pkg/api/kehu/customer/v1"
	interactionv1 "github.com/kehu-crm/kehu/pkg/api/kehu/interaction/v1"
	"github.com/kehu-crm/kehu/pkg/errs"
	"github.com/kehu-crm/kehu/pkg/protoenum"
	"github.com/kehu-crm/kehu/services/interaction/internal/interaction"
)

func channelToProto(s string) interactionv1.Channel {
	return protoenum.FromDomain[interactionv1.Channel](interactionv1.Channel_value, "CHANNEL_", s)
}

func stageToProto(s string) customerv1.LifecycleStage {
	return protoenum.FromDomain[customerv1.LifecycleStage](customerv1.LifecycleStage_value, "LIFECYCLE_STAGE_", s)
}

func interactionToDomain(p *interactionv1.Interaction, field string) (*interaction.Interaction, error) {
	if p == nil {
		return nil, nil
	}
	var v errs.Violations
	i := &interaction.Interaction{
		Channel:           protoenum.ToDomain(p.GetChannel(), "CHANNEL_", field+".channel", &v),
		Direction:         protoenum.ToDomain(p.GetDirection(), "DIRECTION_", field+".direction", &v),
		Kind:              protoenum.ToDomain(p.GetKind(), "INTERACTION_KIND_", field+".kind", &v),
		Subject:           p.GetSubject(),
		Summary:           p.GetSummary(),
		Agent:             p.GetAgent(),
		Touchpoint:        p.GetTouchpoint(),
		Satisfaction:      p.GetSatisfaction(),
		Sentiment:         protoenum.ToDomain(p.GetSentiment(), "SENTIMENT_", field+".sentiment", &v),
		OrderReference:    p.GetOrderReference(),
		ProductCategories: p.GetProductCategories(),
	}
	if p.GetOccurTime() != nil {
		if err := p.GetOccurTime().CheckValid(); err != nil {
			v.Add(field+".occur_time", "is not a valid timestamp")
		}
		i.OccurTime = p.GetOccurTime().AsTime()
	}
	if p.GetDuration() != nil {
		if err := p.GetDuration().CheckValid(); err != nil {
			v.Add(field+".duration", "is not a valid duration")
		}
		i.Duration = p.GetDuration().AsDuration()
	}
	if m := p.GetAmount(); m != nil {
		i.Amount = &interaction.Money{Currency: m.GetCurrencyCode(), Amount: m.GetAmount()}
	}
	return i, v.Err()
}

func interactionToProto(i *interaction.Interaction) *interactionv1.Interaction {
	if i == nil {
		return nil
	}
	out := &interactionv1.Interaction{
		Name:              interaction.InteractionName(i.CustomerID, i.ID),
		Channel:           channelToProto(i.Channel),
		Direction:         protoenum.FromDomain[interactionv1.Direction](interactionv1.Direction_value, "DIRECTION_", i.Direction),
		Kind:              protoenum.FromDomain[interactionv1.InteractionKind](interactionv1.InteractionKind_value, "INTERACTION_KIND_", i.Kind),
		OccurTime:         timestamppb.New(i.OccurTime),
		Subject:           i.Subject,
		Summary:           i.Summary,
		Agent:             i.Agent,
		Satisfaction:      i.Satisfaction,
		Sentiment:         protoenum.FromDomain[interactionv1.Sentiment](interactionv1.Sentiment_value, "SENTIMENT_", i.Sentiment),
		OrderReference:    i.OrderReference,
		ProductCategories: i.ProductCategories,
		LifecycleStage:    stageToProto(i.Stage),
		CreateTime:        timestamppb.New(i.CreateTime),
		UpdateTime:        timestamppb.New(i.UpdateTime),
		Etag:              i.Etag(),
	}
	if i.Duration > 0 {
		out.Duration = durationpb.New(i.Duration)
	}
	if i.Touchpoint != "" {
		out.Touchpoint = interaction.TouchpointName(i.Touchpoint)
	}
	if i.Amount != nil {
		out.Amount = &interactionv1.Money{CurrencyCode: i.Amount.Currency, Amount: i.Amount.Amount}
	}
	if i.FollowUpID != "" {
		out.FollowUp = interaction.FollowUpName(i.CustomerID, i.FollowUpID)
	}
	if i.DeleteTime != nil {
		out.DeleteTime = timestamppb.New(*i.DeleteTime)
	}
	return out
}

func followUpToDomain(p *interactionv1.FollowUp, field string) (*interaction.FollowUp, error) {
	if p == nil {
		return nil, nil
	}
	var v errs.Violations
	f := &interaction.FollowUp{
		Purpose:  p.GetPurpose(),
		Channel:  protoenum.ToDomain(p.GetChannel(), "CHANNEL_", field+".channel", &v),
		Assignee: p.GetAssignee(),
		Message:  p.GetMessage(),
	}
	if p.GetDueTime() != nil {
		if err := p.GetDueTime().CheckValid(); err != nil {
			v.Add(field+".due_time", "is not a valid timestamp")
		}
		f.DueTime = p.GetDueTime().AsTime()
	}
	if r := p.GetRecurrence(); r != nil {
		f.Recurrence = interaction.Recurrence{
			Interval: r.GetInterval(),
			Unit:     protoenum.ToDomain(r.GetUnit(), "UNIT_", field+".recurrence.unit", &v),
		}
	}
	return f, v.Err()
}

func followUpToProto(f *interaction.FollowUp) *interactionv1.FollowUp {
	if f == nil {
		return nil
	}
	out := &interactionv1.FollowUp{
		Name:         interaction.FollowUpName(f.CustomerID, f.ID),
		Purpose:      f.Purpose,
		Channel:      channelToProto(f.Channel),
		Assignee:     f.Assignee,
		DueTime:      timestamppb.New(f.DueTime),
		State:        protoenum.FromDomain[interactionv1.FollowUp_State](interactionv1.FollowUp_State_value, "STATE_", f.State),
		CancelReason: f.CancelReason,
		Message:      f.Message,
		CreateTime:   timestamppb.New(f.CreateTime),
		UpdateTime:   timestamppb.New(f.UpdateTime),
		Etag:         f.Etag(),
	}
	if f.Recurrence.Interval > 0 {
		out.Recurrence = &interactionv1.Recurrence{
			Interval: f.Recurrence.Interval,
			Unit:     protoenum.FromDomain[interactionv1.Recurrence_Unit](interactionv1.Recurrence_Unit_value, "UNIT_", f.Recurrence.Unit),
		}
	}
	if f.InteractionID != "" {
		out.Interaction = interaction.InteractionName(f.CustomerID, f.InteractionID)
	}
	if f.CareRuleID != "" {
		out.CareRule = interaction.CareRuleName(f.CareRuleID)
	}
	if f.PreviousID != "" {
		out.Previous = interaction.FollowUpName(f.CustomerID, f.PreviousID)
	}
	if f.CloseTime != nil {
		out.CloseTime = timestamppb.New(*f.CloseTime)
	}
	return out
}

func careRuleToDomain(p *interactionv1.CareRule, field string) (*interaction.CareRule, error) {
	if p == nil {
		return nil, nil
	}
	var v errs.Violations
	r := &interaction.CareRule{
		DisplayName:      p.GetDisplayName(),
		Occasion:         protoenum.ToDomain(p.GetOccasion(), "OCCASION_", field+".occasion", &v),
		Dates:            p.GetDates(),
		LeadDays:         p.GetLeadDays(),
		Channel:          protoenum.ToDomain(p.GetChannel(), "CHANNEL_", field+".channel", &v),
		MessageTemplate:  p.GetMessageTemplate(),
		CustomerFilter:   p.GetCustomerFilter(),
		FallbackAssignee: p.GetFallbackAssignee(),
		Active:           p.GetActive(),
	}
	return r, v.Err()
}

func careRuleToProto(r *interaction.CareRule) *interactionv1.CareRule {
	if r == nil {
		return nil
	}
	return &interactionv1.CareRule{
		Name:             interaction.CareRuleName(r.ID),
		DisplayName:      r.DisplayName,
		Occasion:         protoenum.FromDomain[interactionv1.CareRule_Occasion](interactionv1.CareRule_Occasion_value, "OCCASION_", r.Occasion),
		Dates:            r.Dates,
		LeadDays:         r.LeadDays,
		Channel:          channelToProto(r.Channel),
		MessageTemplate:  r.MessageTemplate,
		CustomerFilter:   r.CustomerFilter,
		FallbackAssignee: r.FallbackAssignee,
		Active:           r.Active,
		CreateTime:       timestamppb.New(r.CreateTime),
		UpdateTime:       timestamppb.New(r.UpdateTime),
		Etag:             r.Etag(),
	}
}

func touchpointToDomain(p *interactionv1.Touchpoint, field string) (*interaction.Touchpoint, error) {
	if p == nil {
		return nil, nil
	}
	var v errs.Violations
	t := &interaction.Touchpoint{
		DisplayName:  p.GetDisplayName(),
		Channel:      protoenum.ToDomain(p.GetChannel(), "CHANNEL_", field+".channel", &v),
		JourneyStage: protoenum.ToDomain(p.GetJourneyStage(), "LIFECYCLE_STAGE_", field+".journey_stage", &v),
		Description:  p.GetDescription(),
	}
	return t, v.Err()
}

func touchpointToProto(t *interaction.Touchpoint) *interactionv1.Touchpoint {
	if t == nil {
		return nil
	}
	return &interactionv1.Touchpoint{
		Name:         interaction.TouchpointName(t.ID),
		DisplayName:  t.DisplayName,
		Channel:      channelToProto(t.Channel),
		JourneyStage: stageToProto(t.JourneyStage),
		Description:  t.Description,
		CreateTime:   timestamppb.New(t.CreateTime),
		UpdateTime:   timestamppb.New(t.UpdateTime),
		Etag:         t.Etag(),
	}
}
