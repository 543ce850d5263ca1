// Package interaction is the domain of the interaction service: contacts
// with customers (interactions), planned follow-up visits, customer-care
// rules and the touchpoints of the customer journey. It validates input,
// applies access rules and decides what changes; the store persists it.
package interaction

import (
	"fmt"
	"regexp"
	"strings"
	"time"

	"github.com/kehu-crm/kehu/pkg/errs"
)

// Channels of contact.
const (
	ChannelPhone       = "PHONE"
	ChannelEmail       = "EMAIL"
	ChannelMeeting     = "MEETING"
	ChannelSocialMedia = "SOCIAL_MEDIA"
	ChannelChat        = "CHAT"
	ChannelSMS         = "SMS"
	ChannelWebsite     = "WEBSITE"
	ChannelEvent       = "EVENT"
	ChannelOther       = "OTHER"
)

// Directions.
const (
	Inbound  = "INBOUND"
	Outbound = "OUTBOUND"
)

// Interaction kinds.
const (
	KindContact          = "CONTACT"
	KindFollowUpVisit    = "FOLLOW_UP_VISIT"
	KindCareGreeting     = "CARE_GREETING"
	KindPurchase         = "PURCHASE"
	KindRefund           = "REFUND"
	KindFeedback         = "FEEDBACK"
	KindComplaintMention = "COMPLAINT_MENTION"
	KindNote             = "NOTE"
)

// Follow-up states.
const (
	StatePlanned   = "PLANNED"
	StateCompleted = "COMPLETED"
	StateMissed    = "MISSED"
	StateCancelled = "CANCELLED"
)

// Recurrence units.
const (
	UnitDay   = "DAY"
	UnitWeek  = "WEEK"
	UnitMonth = "MONTH"
)

// Care occasions.
const (
	OccasionBirthday    = "BIRTHDAY"
	OccasionFixedDate   = "FIXED_DATE"
	OccasionAnniversary = "ANNIVERSARY"
)

// Money is an exact amount: Amount is a canonical decimal string.
type Money struct {
	Currency string `json:"currency"`
	Amount   string `json:"amount"`
}

// Interaction is one contact with a customer.
type Interaction struct {
	ID                string        `json:"id"`
	CustomerID        string        `json:"customer_id"`
	Channel           string        `json:"channel"`
	Direction         string        `json:"direction,omitempty"`
	Kind              string        `json:"kind"`
	OccurTime         time.Time     `json:"occur_time"`
	Duration          time.Duration `json:"duration,omitempty"`
	Subject           string        `json:"subject,omitempty"`
	Summary           string        `json:"summary,omitempty"`
	Agent             string        `json:"agent,omitempty"`
	Touchpoint        string        `json:"touchpoint,omitempty"`
	Satisfaction      int32         `json:"satisfaction,omitempty"`
	Sentiment         string        `json:"sentiment,omitempty"`
	Amount            *Money        `json:"amount,omitempty"`
	OrderReference    string        `json:"order_reference,omitempty"`
	ProductCategories []string      `json:"product_categories,omitempty"`
	Stage             string        `json:"stage,omitempty"`
	FollowUpID        string        `json:"follow_up_id,omitempty"`
	Revision          int64         `json:"revision"`
	CreateTime        time.Time     `json:"create_time"`
	UpdateTime        time.Time     `json:"update_time"`
	DeleteTime        *time.Time    `json:"delete_time,omitempty"`
}

// Recurrence repeats a follow-up; the zero value means once.
type Recurrence struct {
	Interval int32  `json:"interval,omitempty"`
	Unit     string `json:"unit,omitempty"`
}

// Next returns t advanced by one recurrence.
func (r Recurrence) Next(t time.Time) time.Time {
	switch r.Unit {
	case UnitDay:
		return t.AddDate(0, 0, int(r.Interval))
	case UnitWeek:
		return t.AddDate(0, 0, 7*int(r.Interval))
	case UnitMonth:
		return t.AddDate(0, int(r.Interval), 0)
	}
	return t
}

// FollowUp is a planned contact.
type FollowUp struct {
	ID            string     `json:"id"`
	CustomerID    string     `json:"customer_id"`
	Purpose       string     `json:"purpose"`
	Channel       string     `json:"channel"`
	Assignee      string     `json:"assignee"`
	DueTime       time.Time  `json:"due_time"`
	Recurrence    Recurrence `json:"recurrence"`
	State         string     `json:"state"`
	InteractionID string     `json:"interaction_id,omitempty"`
	CareRuleID    string     `json:"care_rule_id,omitempty"`
	PreviousID    string     `json:"previous_id,omitempty"`
	CancelReason  string     `json:"cancel_reason,omitempty"`
	Message       string     `json:"message,omitempty"`
	CloseTime     *time.Time `json:"close_time,omitempty"`
	Revision      int64      `json:"revision"`
	CreateTime    time.Time  `json:"create_time"`
	UpdateTime    time.Time  `json:"update_time"`
}

// CareRule turns occasions into care follow-ups.
type CareRule struct {
	ID               string    `json:"id"`
	DisplayName      string    `json:"display_name"`
	Occasion         string    `json:"occasion"`
	Dates            []string  `json:"dates,omitempty"`
	LeadDays         int32     `json:"lead_days"`
	Channel          string    `json:"channel"`
	MessageTemplate  string    `json:"message_template,omitempty"`
	CustomerFilter   string    `json:"customer_filter,omitempty"`
	FallbackAssignee string    `json:"fallback_assignee,omitempty"`
	Active           bool      `json:"active"`
	Revision         int64     `json:"revision"`
	CreateTime       time.Time `json:"create_time"`
	UpdateTime       time.Time `json:"update_time"`
}

// Touchpoint is a named place where customers meet the company.
type Touchpoint struct {
	ID           string    `json:"id"`
	DisplayName  string    `json:"display_name"`
	Channel      string    `json:"channel"`
	JourneyStage string    `json:"journey_stage"`
	Description  string    `json:"description,omitempty"`
	Revision     int64     `json:"revision"`
	CreateTime   time.Time `json:"create_time"`
	UpdateTime   time.Time `json:"update_time"`
}

// Etag is the opaque version of a resource.
func etag(revision int64) string { return fmt.Sprint(revision) }

// Etag returns the interaction's etag.
func (i *Interaction) Etag() string { return etag(i.Revision) }

// Etag returns the follow-up's etag.
func (f *FollowUp) Etag() string { return etag(f.Revision) }

// Etag returns the rule's etag.
func (r *CareRule) Etag() string { return etag(r.Revision) }

// Etag returns the touchpoint's etag.
func (t *Touchpoint) Etag() string { return etag(t.Revision) }

// Resource names.

// CustomerName is "customers/{id}".
func CustomerName(id string) string { return "customers/" + id }

// InteractionName is "customers/{customer}/interactions/{id}".
func InteractionName(customerID, id string) string {
	return CustomerName(customerID) + "/interactions/" + id
}

// FollowUpName is "customers/{customer}/followUps/{id}".
func FollowUpName(customerID, id string) string {
	return CustomerName(customerID) + "/followUps/" + id
}

// CareRuleName is "careRules/{id}".
func CareRuleName(id string) string { return "careRules/" + id }

// TouchpointName is "touchpoints/{id}".
func TouchpointName(id string) string { return "touchpoints/" + id }

var (
	uuidPattern    = regexp.MustCompile(`^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$`)
	slugPattern    = regexp.MustCompile(`^[a-z][a-z0-9-]{2,62}$`)
	subjectPattern = regexp.MustCompile(`^[A-Za-z0-9@._:-]{1,128}$`)
	decimalPattern = regexp.MustCompile(`^\d{1,16}(\.\d{1,4})?$`)
)

// AnyCustomer is the "-" wildcard of AIP-159 in "customers/-".
const AnyCustomer = "-"

// ParseParent reads "customers/{id}"; allowAny accepts "customers/-".
func ParseParent(field, name string, allowAny bool) (string, error) {
	id, ok := strings.CutPrefix(name, "customers/")
	switch {
	case ok && allowAny && id == AnyCustomer:
		return AnyCustomer, nil
	case !ok || !uuidPattern.MatchString(id):
		want := `"customers/{id}"`
		if allowAny {
			want += ` or "customers/-"`
		}
		return "", errs.InvalidField(field, "must be %s, got %q", want, name)
	}
	return id, nil
}

// parseChild reads "customers/{customer}/{collection}/{id}".
func parseChild(field, name, collection string) (customerID, id string, err error) {
	parts := strings.Split(name, "/")
	if len(parts) != 4 || parts[0] != "customers" || parts[2] != collection ||
		!uuidPattern.MatchString(parts[1]) || !uuidPattern.MatchString(parts[3]) {
		return "", "", errs.InvalidField(field, "must be a name like \"customers/{customer}/%s/{id}\", got %q", collection, name)
	}
	return parts[1], parts[3], nil
}

// ParseInteractionName reads an interaction name.
func ParseInteractionName(field, name string) (string, string, error) {
	return parseChild(field, name, "interactions")
}

// ParseFollowUpName reads a follow-up name.
func ParseFollowUpName(field, name string) (string, string, error) {
	return parseChild(field, name, "followUps")
}

func parseTopLevel(field, name, collection string) (string, error) {
	id, ok := strings.CutPrefix(name, collection+"/")
	if !ok || !slugPattern.MatchString(id) {
		return "", errs.InvalidField(field, "must be a name like \"%s/{id}\" with an id of 3-63 lower-case letters, digits or '-', got %q", collection, name)
	}
	return id, nil
}

// ParseCareRuleName reads "careRules/{id}".
func ParseCareRuleName(field, name string) (string, error) {
	return parseTopLevel(field, name, "careRules")
}

// ParseTouchpointName reads "touchpoints/{id}".
func ParseTouchpointName(field, name string) (string, error) {
	return parseTopLevel(field, name, "touchpoints")
}
