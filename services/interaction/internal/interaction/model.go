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
	"unicode/utf8"

	"golang.org/x/text/currency"

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

// Limits on text fields.
const (
	maxSubject     = 300
	maxSummary     = 10000
	maxShortText   = 200
	maxCategories  = 20
	maxTemplate    = 2000
	maxDuration    = 24 * time.Hour
	maxFuture      = 24 * time.Hour // interactions happen in the past
	maxRecurrence  = 366
	maxBatchCreate = 500
)

func checkText(v *errs.Violations, field, s string, max int, required bool) string {
	s = strings.TrimSpace(s)
	switch n := utf8.RuneCountInString(s); {
	case n == 0 && required:
		v.Add(field, "is required")
	case n > max:
		v.Add(field, "must be at most %d characters, got %d", max, n)
	}
	return s
}

func checkSubject(v *errs.Violations, field, s string) {
	if s != "" && !subjectPattern.MatchString(s) {
		v.Add(field, "must be a user id of 1 to 128 letters, digits or @._:-, got %q", s)
	}
}

// NormalizeMoney validates an amount: a known ISO 4217 currency and a
// positive decimal with at most 4 fraction digits.
func NormalizeMoney(v *errs.Violations, field string, m *Money) {
	m.Currency = strings.ToUpper(strings.TrimSpace(m.Currency))
	if unit, err := currency.ParseISO(m.Currency); err != nil || unit.String() != m.Currency {
		v.Add(field+".currency_code", "must be an ISO 4217 currency code like \"CNY\", got %q", m.Currency)
	}
	m.Amount = strings.TrimSpace(m.Amount)
	if !decimalPattern.MatchString(m.Amount) {
		v.Add(field+".amount", "must be a positive decimal like \"1299.90\" with at most 4 decimals, got %q", m.Amount)
		return
	}
	m.Amount = canonicalDecimal(m.Amount)
	if strings.Trim(m.Amount, "0.") == "" {
		v.Add(field+".amount", "must be greater than zero")
	}
}

// canonicalDecimal drops leading zeros and trailing fraction zeros, so equal
// amounts compare and fingerprint equal.
func canonicalDecimal(s string) string {
	whole, frac, _ := strings.Cut(s, ".")
	whole = strings.TrimLeft(whole, "0")
	if whole == "" {
		whole = "0"
	}
	frac = strings.TrimRight(frac, "0")
	if frac == "" {
		return whole
	}
	return whole + "." + frac
}

// normalizeInteraction validates an interaction for storage. now is the
// time of recording.
func normalizeInteraction(i *Interaction, prefix string, now time.Time) error {
	var v errs.Violations
	f := func(s string) string { return prefix + "." + s }
	if i.Channel == "" {
		v.Add(f("channel"), "is required")
	}
	if i.Kind == "" {
		i.Kind = KindContact
	}
	if i.OccurTime.IsZero() {
		i.OccurTime = now
	} else if i.OccurTime.After(now.Add(maxFuture)) {
		v.Add(f("occur_time"), "must not be in the future (it records what happened)")
	}
	if i.Duration < 0 || i.Duration > maxDuration {
		v.Add(f("duration"), "must be between 0 and 24h")
	}
	i.Subject = checkText(&v, f("subject"), i.Subject, maxSubject, false)
	i.Summary = checkText(&v, f("summary"), i.Summary, maxSummary, false)
	checkSubject(&v, f("agent"), i.Agent)
	if i.Satisfaction < 0 || i.Satisfaction > 5 {
		v.Add(f("satisfaction"), "must be 1 to 5, or 0 when not rated; got %d", i.Satisfaction)
	}
	money := i.Kind == KindPurchase || i.Kind == KindRefund
	switch {
	case money && i.Amount == nil:
		v.Add(f("amount"), "is required for a %s", strings.ToLower(i.Kind))
	case !money && i.Amount != nil:
		v.Add(f("amount"), "is only for purchases and refunds")
	case i.Amount != nil:
		NormalizeMoney(&v, f("amount"), i.Amount)
	}
	i.OrderReference = checkText(&v, f("order_reference"), i.OrderReference, maxShortText, false)
	if i.OrderReference != "" && !money {
		v.Add(f("order_reference"), "is only for purchases and refunds")
	}
	if len(i.ProductCategories) > maxCategories {
		v.Add(f("product_categories"), "must have at most %d entries", maxCategories)
	}
	seen := map[string]bool{}
	cats := i.ProductCategories[:0:0]
	for n, c := range i.ProductCategories {
		c = checkText(&v, fmt.Sprintf("%s[%d]", f("product_categories"), n), c, 64, true)
		if c != "" && !seen[strings.ToLower(c)] {
			seen[strings.ToLower(c)] = true
			cats = append(cats, c)
		}
	}
	i.ProductCategories = cats
	return v.Err()
}

// normalizeFollowUp validates a follow-up. New ones must be due in the
// future (with a minute's slack for clock skew).
func normalizeFollowUp(fu *FollowUp, prefix string, now time.Time, isNew bool) error {
	var v errs.Violations
	f := func(s string) string { return prefix + "." + s }
	fu.Purpose = checkText(&v, f("purpose"), fu.Purpose, maxShortText*5, true)
	if fu.Channel == "" {
		v.Add(f("channel"), "is required")
	}
	checkSubject(&v, f("assignee"), fu.Assignee)
	switch {
	case fu.DueTime.IsZero():
		v.Add(f("due_time"), "is required")
	case isNew && fu.DueTime.Before(now.Add(-time.Minute)):
		v.Add(f("due_time"), "must not be in the past for a new follow-up, got %s", fu.DueTime.Format(time.RFC3339))
	}
	r := fu.Recurrence
	switch {
	case r.Unit == "" && r.Interval == 0:
	case r.Unit == "":
		v.Add(f("recurrence.unit"), "is required when recurrence.interval is set")
	case r.Interval <= 0:
		v.Add(f("recurrence.interval"), "must be at least 1, got %d", r.Interval)
	case r.Interval > maxRecurrence:
		v.Add(f("recurrence.interval"), "must be at most %d", maxRecurrence)
	}
	fu.Message = checkText(&v, f("message"), fu.Message, maxTemplate, false)
	return v.Err()
}

func normalizeTouchpoint(t *Touchpoint, prefix string) error {
	var v errs.Violations
	f := func(s string) string { return prefix + "." + s }
	t.DisplayName = checkText(&v, f("display_name"), t.DisplayName, maxShortText, true)
	if t.Channel == "" {
		v.Add(f("channel"), "is required")
	}
	t.Description = checkText(&v, f("description"), t.Description, 1000, false)
	return v.Err()
}
