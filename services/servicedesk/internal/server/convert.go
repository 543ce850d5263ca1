package server

import (
	"fmt"
	"time"

	"google.golang.org/protobuf/types/known/durationpb"
	"google.golang.org/protobuf/types/known/timestamppb"

	sdv1 "github.com/kehu-crm/kehu/pkg/api/kehu/servicedesk/v1"
	"github.com/kehu-crm/kehu/pkg/errs"
	"github.com/kehu-crm/kehu/pkg/protoenum"
	"github.com/kehu-crm/kehu/services/servicedesk/internal/desk"
)

func ts(t *time.Time) *timestamppb.Timestamp {
	if t == nil {
		return nil
	}
	return timestamppb.New(*t)
}

func enumList[E protoenum.Enum](in []E, prefix, field string, v *errs.Violations) []string {
	var out []string
	for n, e := range in {
		out = append(out, protoenum.ToDomain(e, prefix, fmt.Sprintf("%s[%d]", field, n), v))
	}
	return out
}

func fromDomainList[E ~int32](values map[string]int32, prefix string, in []string) []E {
	var out []E
	for _, s := range in {
		out = append(out, protoenum.FromDomain[E](values, prefix, s))
	}
	return out
}

func ticketToDomain(p *sdv1.Ticket, field string) (*desk.Ticket, error) {
	if p == nil {
		return nil, nil
	}
	var v errs.Violations
	t := &desk.Ticket{
		CustomerID:  p.GetCustomer(),
		Type:        protoenum.ToDomain(p.GetType(), "TICKET_TYPE_", field+".type", &v),
		Channel:     protoenum.ToDomain(p.GetChannel(), "CHANNEL_", field+".channel", &v),
		Subject:     p.GetSubject(),
		Description: p.GetDescription(),
		Priority:    protoenum.ToDomain(p.GetPriority(), "PRIORITY_", field+".priority", &v),
		Tags:        p.GetTags(),
		QueueID:     p.GetQueue(),
		Assignee:    p.GetAssignee(),
		Interaction: p.GetInteraction(),
	}
	return t, v.Err()
}

func clockToProto(c desk.Clock, now time.Time) *sdv1.SlaClock {
	if c.Target <= 0 {
		return nil
	}
	return &sdv1.SlaClock{
		Target:   durationpb.New(c.Target),
		Elapsed:  durationpb.New(c.Elapsed),
		DueTime:  ts(c.Due),
		State:    protoenum.FromDomain[sdv1.ClockState](sdv1.ClockState_value, "CLOCK_STATE_", c.State(now)),
		StopTime: ts(c.Stop),
	}
}

func ticketToProto(t *desk.Ticket) *sdv1.Ticket {
	if t == nil {
		return nil
	}
	now := time.Now()
	out := &sdv1.Ticket{
		Name:              t.Name(),
		Customer:          desk.CustomerName(t.CustomerID),
		Type:              protoenum.FromDomain[sdv1.TicketType](sdv1.TicketType_value, "TICKET_TYPE_", t.Type),
		Channel:           protoenum.FromDomain[sdv1.Channel](sdv1.Channel_value, "CHANNEL_", t.Channel),
		Subject:           t.Subject,
		Description:       t.Description,
		Priority:          protoenum.FromDomain[sdv1.Priority](sdv1.Priority_value, "PRIORITY_", t.Priority),
		Tags:              t.Tags,
		Assignee:          t.Assignee,
		EscalationLevel:   int32(t.Escalation),
		Interaction:       t.Interaction,
		Status:            protoenum.FromDomain[sdv1.Status](sdv1.Status_value, "STATUS_", t.Status),
		ValueTier:         protoenum.FromDomain[sdv1.ValueTier](sdv1.ValueTier_value, "VALUE_TIER_", t.ValueTier),
		FirstResponse:     clockToProto(t.FirstResponse, now),
		Resolution:        clockToProto(t.Resolution, now),
		RootCause:         t.RootCause,
		ResolutionSummary: t.ResolutionNote,
		FirstResponseTime: ts(t.FirstResponded),
		ResolveTime:       ts(t.ResolveTime),
		CloseTime:         ts(t.CloseTime),
		CreateTime:        timestamppb.New(t.CreateTime),
		UpdateTime:        timestamppb.New(t.UpdateTime),
		DeleteTime:        ts(t.DeleteTime),
		Etag:              t.Etag(),
	}
	if t.QueueID != "" {
		out.Queue = desk.QueueName(t.QueueID)
	}
	if t.PolicyID != "" {
		out.SlaPolicy = desk.PolicyName(t.PolicyID)
	}
	out.SurveyResult = resultToProto(t.Survey)
	for _, st := range t.Next {
		out.NextStatuses = append(out.NextStatuses, protoenum.FromDomain[sdv1.Status](sdv1.Status_value, "STATUS_", st))
	}
	return out
}

func resultToProto(r *desk.Result) *sdv1.SurveyResult {
	if r == nil {
		return nil
	}
	return &sdv1.SurveyResult{
		Kind:  protoenum.FromDomain[sdv1.SurveyKind](sdv1.SurveyKind_value, "SURVEY_KIND_", r.Kind),
		Score: int32(r.Score), Comment: r.Comment, AnswerTime: timestamppb.New(r.AnswerTime),
	}
}

func surveyToProto(v *desk.Survey) *sdv1.Survey {
	return &sdv1.Survey{
		Name:       desk.SurveyName(v.ID),
		Ticket:     desk.TicketName(v.TicketID),
		Customer:   desk.CustomerName(v.CustomerID),
		Kind:       protoenum.FromDomain[sdv1.SurveyKind](sdv1.SurveyKind_value, "SURVEY_KIND_", v.Kind),
		State:      protoenum.FromDomain[sdv1.SurveyState](sdv1.SurveyState_value, "SURVEY_STATE_", v.State),
		Result:     resultToProto(v.Result),
		IssueTime:  timestamppb.New(v.IssueTime),
		ExpireTime: timestamppb.New(v.ExpireTime),
	}
}

// publicSurveyToProto is all a survey link shows: the question and the
// subject of the customer's own ticket.
func publicSurveyToProto(v *desk.Survey) *sdv1.PublicSurvey {
	return &sdv1.PublicSurvey{
		Kind:          protoenum.FromDomain[sdv1.SurveyKind](sdv1.SurveyKind_value, "SURVEY_KIND_", v.Kind),
		State:         protoenum.FromDomain[sdv1.SurveyState](sdv1.SurveyState_value, "SURVEY_STATE_", v.State),
		TicketSubject: v.Subject,
		ExpireTime:    timestamppb.New(v.ExpireTime),
	}
}

func changeToProto(c desk.Change) *sdv1.TicketChange {
	return &sdv1.TicketChange{Field: c.Field, From: c.From, To: c.To, Actor: c.Actor, Time: timestamppb.New(c.Time)}
}

func commentToProto(c *desk.Comment) *sdv1.Comment {
	return &sdv1.Comment{
		Name:       desk.CommentName(c.TicketID, c.ID),
		Author:     c.Author,
		Visibility: protoenum.FromDomain[sdv1.Visibility](sdv1.Visibility_value, "VISIBILITY_", c.Visibility),
		Body:       c.Body,
		CreateTime: timestamppb.New(c.CreateTime),
	}
}

func queueToDomain(p *sdv1.Queue, field string) (*desk.Queue, error) {
	if p == nil {
		return nil, nil
	}
	var v errs.Violations
	q := &desk.Queue{
		DisplayName:     p.GetDisplayName(),
		Description:     p.GetDescription(),
		RouteTypes:      enumList(p.GetRouteTypes(), "TICKET_TYPE_", field+".route_types", &v),
		RouteChannels:   enumList(p.GetRouteChannels(), "CHANNEL_", field+".route_channels", &v),
		RouteValueTiers: enumList(p.GetRouteValueTiers(), "VALUE_TIER_", field+".route_value_tiers", &v),
		RoutingOrder:    int(p.GetRoutingOrder()),
		ComplaintQueue:  p.GetComplaintQueue(),
	}
	for _, m := range p.GetMembers() {
		q.Members = append(q.Members, desk.Member{User: m.GetUser(), Available: m.GetAvailable()})
	}
	for _, l := range [][]string{q.RouteTypes, q.RouteChannels, q.RouteValueTiers} {
		for _, s := range l {
			if s == "" {
				v.Add(field, "routing lists must not contain UNSPECIFIED values")
			}
		}
	}
	return q, v.Err()
}

func queueToProto(q *desk.Queue) *sdv1.Queue {
	out := &sdv1.Queue{
		Name:            desk.QueueName(q.ID),
		DisplayName:     q.DisplayName,
		Description:     q.Description,
		RouteTypes:      fromDomainList[sdv1.TicketType](sdv1.TicketType_value, "TICKET_TYPE_", q.RouteTypes),
		RouteChannels:   fromDomainList[sdv1.Channel](sdv1.Channel_value, "CHANNEL_", q.RouteChannels),
		RouteValueTiers: fromDomainList[sdv1.ValueTier](sdv1.ValueTier_value, "VALUE_TIER_", q.RouteValueTiers),
		RoutingOrder:    int32(q.RoutingOrder),
		ComplaintQueue:  q.ComplaintQueue,
		CreateTime:      timestamppb.New(q.CreateTime),
		UpdateTime:      timestamppb.New(q.UpdateTime),
		Etag:            q.Etag(),
	}
	for _, m := range q.Members {
		out.Members = append(out.Members, &sdv1.QueueMember{User: m.User, Available: m.Available})
	}
	return out
}

// clockMinutes reads "HH:MM" (00:00-24:00) as minutes after midnight.
func clockMinutes(s string) (int, bool) {
	var h, m int
	if len(s) != 5 || s[2] != ':' {
		return 0, false
	}
	if _, err := fmt.Sscanf(s, "%02d:%02d", &h, &m); err != nil || m > 59 || h > 24 || (h == 24 && m != 0) {
		return 0, false
	}
	return h*60 + m, true
}

// weekdays maps DayOfWeek to time.Weekday.
var weekdays = map[sdv1.DayOfWeek]time.Weekday{
	sdv1.DayOfWeek_DAY_OF_WEEK_MONDAY: time.Monday, sdv1.DayOfWeek_DAY_OF_WEEK_TUESDAY: time.Tuesday,
	sdv1.DayOfWeek_DAY_OF_WEEK_WEDNESDAY: time.Wednesday, sdv1.DayOfWeek_DAY_OF_WEEK_THURSDAY: time.Thursday,
	sdv1.DayOfWeek_DAY_OF_WEEK_FRIDAY: time.Friday, sdv1.DayOfWeek_DAY_OF_WEEK_SATURDAY: time.Saturday,
	sdv1.DayOfWeek_DAY_OF_WEEK_SUNDAY: time.Sunday,
}

func policyToDomain(p *sdv1.SlaPolicy, field string) (*desk.Policy, error) {
	if p == nil {
		return nil, nil
	}
	var v errs.Violations
	out := &desk.Policy{
		DisplayName: p.GetDisplayName(),
		Priorities:  enumList(p.GetPriorities(), "PRIORITY_", field+".priorities", &v),
		Types:       enumList(p.GetTypes(), "TICKET_TYPE_", field+".types", &v),
		ValueTiers:  enumList(p.GetValueTiers(), "VALUE_TIER_", field+".value_tiers", &v),
		Precedence:  int(p.GetPrecedence()),
	}
	for name, d := range map[string]*durationpb.Duration{"first_response_target": p.GetFirstResponseTarget(), "resolution_target": p.GetResolutionTarget()} {
		if d == nil {
			continue
		}
		if err := d.CheckValid(); err != nil {
			v.Add(field+"."+name, "is not a valid duration")
		}
	}
	out.FirstResponseTarget = p.GetFirstResponseTarget().AsDuration()
	out.ResolutionTarget = p.GetResolutionTarget().AsDuration()
	cal := p.GetCalendar()
	out.Calendar = desk.Calendar{TimeZone: cal.GetTimeZone(), Holidays: cal.GetHolidays(), MakeUpDays: cal.GetMakeUpDays()}
	for n, wh := range cal.GetWorkingHours() {
		f := fmt.Sprintf("%s.calendar.working_hours[%d]", field, n)
		day, ok := weekdays[wh.GetDay()]
		start, okStart := clockMinutes(wh.GetStart())
		end, okEnd := clockMinutes(wh.GetEnd())
		switch {
		case !ok:
			v.Add(f+".day", "must be a day of the week")
		case !okStart:
			v.Add(f+".start", "must be a time HH:MM, got %q", wh.GetStart())
		case !okEnd:
			v.Add(f+".end", "must be a time HH:MM, got %q", wh.GetEnd())
		default:
			out.Calendar.Week[day] = append(out.Calendar.Week[day], desk.Block{Start: start, End: end})
		}
	}
	return out, v.Err()
}

func policyToProto(p *desk.Policy) *sdv1.SlaPolicy {
	out := &sdv1.SlaPolicy{
		Name:                desk.PolicyName(p.ID),
		DisplayName:         p.DisplayName,
		Priorities:          fromDomainList[sdv1.Priority](sdv1.Priority_value, "PRIORITY_", p.Priorities),
		Types:               fromDomainList[sdv1.TicketType](sdv1.TicketType_value, "TICKET_TYPE_", p.Types),
		ValueTiers:          fromDomainList[sdv1.ValueTier](sdv1.ValueTier_value, "VALUE_TIER_", p.ValueTiers),
		Precedence:          int32(p.Precedence),
		FirstResponseTarget: durationpb.New(p.FirstResponseTarget),
		ResolutionTarget:    durationpb.New(p.ResolutionTarget),
		Calendar: &sdv1.BusinessCalendar{
			TimeZone: p.Calendar.TimeZone, Holidays: p.Calendar.Holidays, MakeUpDays: p.Calendar.MakeUpDays,
		},
		CreateTime: timestamppb.New(p.CreateTime),
		UpdateTime: timestamppb.New(p.UpdateTime),
		Etag:       p.Etag(),
	}
	for _, day := range []sdv1.DayOfWeek{1, 2, 3, 4, 5, 6, 7} {
		for _, b := range p.Calendar.Week[weekdays[day]] {
			out.Calendar.WorkingHours = append(out.Calendar.WorkingHours, &sdv1.WorkingHours{
				Day: day, Start: fmt.Sprintf("%02d:%02d", b.Start/60, b.Start%60), End: fmt.Sprintf("%02d:%02d", b.End/60, b.End%60),
			})
		}
	}
	return out
}

func targetToProto(s desk.TargetStatus, now time.Time) *sdv1.TargetStatus {
	if s.Clock.Target <= 0 {
		return nil
	}
	c := s.Clock
	c.Elapsed = s.Elapsed
	return &sdv1.TargetStatus{Clock: clockToProto(c, now), Remaining: durationpb.New(s.Remaining), PredictedBreachTime: ts(s.PredictedBreach)}
}

func statsToProto(st *desk.Stats) *sdv1.QueueStats {
	return &sdv1.QueueStats{
		OpenByStatus: st.OpenByStatus, OpenByPriority: st.OpenByPriority,
		Opened: st.Opened, Resolved: st.Resolved, SlaMet: st.SLAMet, SlaBreached: st.SLABreached,
		SlaCompliance:       st.Compliance(),
		MedianFirstResponse: durationpb.New(st.MedianFirstResponse),
		MedianResolution:    durationpb.New(st.MedianResolution),
	}
}
