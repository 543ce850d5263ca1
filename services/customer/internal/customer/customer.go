// Package customer holds the customer service's domain: the customer
// profile, its validation and normalisation, who may see and change what,
// and the use cases (create, update, merge, lifecycle, loyalty, import). It
// knows neither protobuf nor SQL: the gRPC layer converts to and from these
// types and the store implements the Store interface declared here.
package customer

import (
	"fmt"
	"net/mail"
	"regexp"
	"slices"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/google/uuid"
	"github.com/nyaruka/phonenumbers"

	"github.com/kehu-crm/kehu/pkg/errs"
)

// Kind says whether a customer is a person or an organisation.
type Kind string

// Kinds.
const (
	KindPerson       Kind = "PERSON"
	KindOrganization Kind = "ORGANIZATION"
)

// Source is the channel through which a customer was identified.
type Source string

// Sources.
const (
	SourceMarketResearch Source = "MARKET_RESEARCH"
	SourceWebsite        Source = "WEBSITE"
	SourceReferral       Source = "REFERRAL"
	SourceSalesTeam      Source = "SALES_TEAM"
	SourceSocialMedia    Source = "SOCIAL_MEDIA"
	SourceEvent          Source = "EVENT"
	SourceImport         Source = "IMPORT"
	SourceOther          Source = "OTHER"
)

// Stage is a lifecycle stage.
type Stage string

// Lifecycle stages, in the order a healthy relationship moves through them.
const (
	StageProspect      Stage = "PROSPECT"
	StageFirstPurchase Stage = "FIRST_PURCHASE"
	StageRepeat        Stage = "REPEAT"
	StageLoyal         Stage = "LOYAL"
	StageAtRisk        Stage = "AT_RISK"
	StageChurned       Stage = "CHURNED"
)

// ValueTier is the ABC value classification; empty when not classified.
type ValueTier string

// Value tiers.
const (
	TierA ValueTier = "A"
	TierB ValueTier = "B"
	TierC ValueTier = "C"
)

// Membership is the loyalty membership tier, derived from points.
type Membership string

// Membership tiers, lowest first.
const (
	MembershipBasic    Membership = "BASIC"
	MembershipSilver   Membership = "SILVER"
	MembershipGold     Membership = "GOLD"
	MembershipPlatinum Membership = "PLATINUM"
)

// PriceSensitivity says how price weighs against quality.
type PriceSensitivity string

// Price sensitivities; empty when unknown.
const (
	PricePrice    PriceSensitivity = "PRICE"
	PriceBalanced PriceSensitivity = "BALANCED"
	PriceQuality  PriceSensitivity = "QUALITY"
)

// Address is a postal address.
type Address struct {
	Street      string `json:"street,omitempty"`
	City        string `json:"city,omitempty"`
	Region      string `json:"region,omitempty"`
	PostalCode  string `json:"postal_code,omitempty"`
	CountryCode string `json:"country_code,omitempty"`
}

// NeedProfile records which needs drive a customer.
type NeedProfile struct {
	Functional       bool             `json:"functional,omitempty"`
	Emotional        bool             `json:"emotional,omitempty"`
	Social           bool             `json:"social,omitempty"`
	PriceSensitivity PriceSensitivity `json:"price_sensitivity,omitempty"`
}

// Customer is a customer profile.
type Customer struct {
	ID               string            `json:"id"`
	Kind             Kind              `json:"kind"`
	DisplayName      string            `json:"display_name"`
	Emails           []string          `json:"emails,omitempty"`
	Phones           []string          `json:"phones,omitempty"`
	Company          string            `json:"company,omitempty"`
	Title            string            `json:"title,omitempty"`
	Address          Address           `json:"address"`
	Birthday         string            `json:"birthday,omitempty"`
	Source           Source            `json:"source"`
	Stage            Stage             `json:"stage"`
	ValueTier        ValueTier         `json:"value_tier,omitempty"`
	Needs            NeedProfile       `json:"needs"`
	AccountManager   string            `json:"account_manager,omitempty"`
	Tags             []string          `json:"tags,omitempty"`
	Attributes       map[string]string `json:"attributes,omitempty"`
	MarketingConsent bool              `json:"marketing_consent,omitempty"`
	Points           int64             `json:"points"`
	Membership       Membership        `json:"membership"`
	ExternalID       string            `json:"external_id,omitempty"`
	Revision         int64             `json:"revision"`
	CreateTime       time.Time         `json:"create_time"`
	UpdateTime       time.Time         `json:"update_time"`
	DeleteTime       *time.Time        `json:"delete_time,omitempty"`
	// MergedIDs are the ids of customers merged into this one.
	MergedIDs []string `json:"merged_ids,omitempty"`
}

// Name returns the resource name of the customer with the given id.
func Name(id string) string { return "customers/" + id }

// Name returns the customer's resource name.
func (c *Customer) Name() string { return Name(c.ID) }

// Etag is the opaque version tag clients send back to detect lost updates.
func (c *Customer) Etag() string { return fmt.Sprintf("%d", c.Revision) }

// Deleted reports whether the customer is soft-deleted.
func (c *Customer) Deleted() bool { return c.DeleteTime != nil }

// Clone returns a deep copy, so callers may change it without touching
// shared (e.g. cached) values.
func (c *Customer) Clone() *Customer {
	d := *c
	d.Emails = slices.Clone(c.Emails)
	d.Phones = slices.Clone(c.Phones)
	d.Tags = slices.Clone(c.Tags)
	d.MergedIDs = slices.Clone(c.MergedIDs)
	if c.Attributes != nil {
		d.Attributes = make(map[string]string, len(c.Attributes))
		for k, v := range c.Attributes {
			d.Attributes[k] = v
		}
	}
	if c.DeleteTime != nil {
		t := *c.DeleteTime
		d.DeleteTime = &t
	}
	return &d
}

// ParseName extracts the id from "customers/{id}". field names the request
// field for the error.
func ParseName(field, name string) (string, error) {
	id, ok := strings.CutPrefix(name, "customers/")
	if !ok || id == "" {
		return "", errs.InvalidField(field, "must be a customer name like \"customers/{id}\", got %q", name)
	}
	if _, err := uuid.Parse(id); err != nil {
		return "", errs.InvalidField(field, "%q is not a valid customer id", id)
	}
	return id, nil
}

// Limits on profile fields. They keep rows small and indexes useful, and
// reject obviously broken imports early.
const (
	maxNameLen      = 200
	maxTextLen      = 200
	maxEmails       = 10
	maxPhones       = 10
	maxTags         = 50
	maxTagLen       = 64
	maxAttributes   = 100
	maxAttrKeyLen   = 64
	maxAttrValueLen = 1024
	maxExternalID   = 128
	maxReasonLen    = 500
)

var (
	attrKeyPattern  = regexp.MustCompile(`^[A-Za-z][A-Za-z0-9_.-]*$`)
	countryPattern  = regexp.MustCompile(`^[A-Z]{2}$`)
	subjectPattern  = regexp.MustCompile(`^[A-Za-z0-9@._:-]{1,128}$`)
	fullBirthday    = regexp.MustCompile(`^\d{4}-\d{2}-\d{2}$`)
	partialBirthday = regexp.MustCompile(`^--\d{2}-\d{2}$`)
)

// Normalizer validates and canonicalises profiles. DefaultRegion is the
// ISO 3166 region used to read phone numbers written without "+country".
type Normalizer struct {
	DefaultRegion string
	Now           func() time.Time
}

// Normalize validates c in place and canonicalises what has a canonical form
// (trimmed text, lower-case e-mails and tags, E.164 phones). Every problem is
// reported, each under prefix+"."+field.
func (n Normalizer) Normalize(c *Customer, prefix string) error {
	var v errs.Violations
	f := func(name string) string { return prefix + "." + name }

	c.DisplayName = strings.TrimSpace(c.DisplayName)
	switch l := utf8.RuneCountInString(c.DisplayName); {
	case l == 0:
		v.Add(f("display_name"), "is required")
	case l > maxNameLen:
		v.Add(f("display_name"), "must be at most %d characters, got %d", maxNameLen, l)
	}
	if c.Kind == "" {
		c.Kind = KindPerson
	}
	c.Emails = n.normalizeEmails(c.Emails, f("emails"), &v)
	c.Phones = n.normalizePhones(c.Phones, f("phones"), &v)
	c.Company = checkText(c.Company, f("company"), maxTextLen, &v)
	c.Title = checkText(c.Title, f("title"), maxTextLen, &v)
	c.Address.Street = checkText(c.Address.Street, f("address.street"), 500, &v)
	c.Address.City = checkText(c.Address.City, f("address.city"), maxTextLen, &v)
	c.Address.Region = checkText(c.Address.Region, f("address.region"), maxTextLen, &v)
	c.Address.PostalCode = checkText(c.Address.PostalCode, f("address.postal_code"), 32, &v)
	c.Address.CountryCode = strings.ToUpper(strings.TrimSpace(c.Address.CountryCode))
	if c.Address.CountryCode != "" && !countryPattern.MatchString(c.Address.CountryCode) {
		v.Add(f("address.country_code"), "must be an ISO 3166-1 alpha-2 code like \"CN\", got %q", c.Address.CountryCode)
	}
	n.checkBirthday(c.Birthday, f("birthday"), &v)
	if c.Source == "" {
		c.Source = SourceOther
	}
	if c.Stage == "" {
		c.Stage = StageProspect
	}
	if c.AccountManager != "" && !subjectPattern.MatchString(c.AccountManager) {
		v.Add(f("account_manager"), "must be a user id of 1 to 128 letters, digits or @._:-")
	}
	c.Tags = normalizeTags(c.Tags, f("tags"), &v)
	checkAttributes(c.Attributes, f("attributes"), &v)
	c.ExternalID = strings.TrimSpace(c.ExternalID)
	if len(c.ExternalID) > maxExternalID {
		v.Add(f("external_id"), "must be at most %d bytes", maxExternalID)
	}
	return v.Err()
}

func checkText(s, field string, max int, v *errs.Violations) string {
	s = strings.TrimSpace(s)
	if l := utf8.RuneCountInString(s); l > max {
		v.Add(field, "must be at most %d characters, got %d", max, l)
	}
	return s
}

func (n Normalizer) normalizeEmails(in []string, field string, v *errs.Violations) []string {
	if len(in) > maxEmails {
		v.Add(field, "at most %d e-mail addresses, got %d", maxEmails, len(in))
		return in
	}
	out := make([]string, 0, len(in))
	for i, e := range in {
		e = strings.ToLower(strings.TrimSpace(e))
		addr, err := mail.ParseAddress(e)
		if err != nil || addr.Address != e || len(e) > 254 || !strings.Contains(e[strings.LastIndexByte(e, '@')+1:], ".") {
			v.Add(fmt.Sprintf("%s[%d]", field, i), "%q is not a valid e-mail address", in[i])
			continue
		}
		if !slices.Contains(out, e) {
			out = append(out, e)
		}
	}
	return out
}

func (n Normalizer) normalizePhones(in []string, field string, v *errs.Violations) []string {
	if len(in) > maxPhones {
		v.Add(field, "at most %d phone numbers, got %d", maxPhones, len(in))
		return in
	}
	out := make([]string, 0, len(in))
	for i, p := range in {
		e164, ok := NormalizePhone(p, n.DefaultRegion)
		if !ok {
			v.Add(fmt.Sprintf("%s[%d]", field, i), "%q is not a valid phone number (use +<country><number>)", p)
			continue
		}
		if !slices.Contains(out, e164) {
			out = append(out, e164)
		}
	}
	return out
}

// NormalizePhone returns p in E.164 form, reading numbers without a country
// code in region. It reports false for anything that is not a valid number.
func NormalizePhone(p, region string) (string, bool) {
	p = strings.TrimSpace(p)
	if p == "" || len(p) > 32 {
		return "", false
	}
	num, err := phonenumbers.Parse(p, region)
	if err != nil || !phonenumbers.IsValidNumber(num) {
		return "", false
	}
	return phonenumbers.Format(num, phonenumbers.E164), true
}

func (n Normalizer) checkBirthday(b, field string, v *errs.Violations) {
	switch {
	case b == "":
	case fullBirthday.MatchString(b):
		t, err := time.Parse(time.DateOnly, b)
		if err != nil {
			v.Add(field, "%q is not a real date", b)
		} else if now := n.now(); t.After(now) || t.Year() < now.Year()-150 {
			v.Add(field, "%q is not a plausible birthday", b)
		}
	case partialBirthday.MatchString(b):
		// Leap year 2000 so that --02-29 is accepted.
		if _, err := time.Parse(time.DateOnly, "2000"+b[1:]); err != nil {
			v.Add(field, "%q is not a real month and day", b)
		}
	default:
		v.Add(field, "must be YYYY-MM-DD or --MM-DD, got %q", b)
	}
}

func (n Normalizer) now() time.Time {
	if n.Now != nil {
		return n.Now()
	}
	return time.Now()
}

func normalizeTags(in []string, field string, v *errs.Violations) []string {
	if len(in) > maxTags {
		v.Add(field, "at most %d tags, got %d", maxTags, len(in))
		return in
	}
	out := make([]string, 0, len(in))
	for i, t := range in {
		t = strings.ToLower(strings.TrimSpace(t))
		if t == "" || utf8.RuneCountInString(t) > maxTagLen {
			v.Add(fmt.Sprintf("%s[%d]", field, i), "tags must be 1 to %d characters", maxTagLen)
			continue
		}
		if !slices.Contains(out, t) {
			out = append(out, t)
		}
	}
	return out
}

func checkAttributes(attrs map[string]string, field string, v *errs.Violations) {
	if len(attrs) > maxAttributes {
		v.Add(field, "at most %d attributes, got %d", maxAttributes, len(attrs))
		return
	}
	keys := make([]string, 0, len(attrs))
	for k := range attrs {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	for _, k := range keys {
		if len(k) > maxAttrKeyLen || !attrKeyPattern.MatchString(k) {
			v.Add(field, "key %q must start with a letter and use only letters, digits and _.- (at most %d)", k, maxAttrKeyLen)
		}
		if len(attrs[k]) > maxAttrValueLen {
			v.Add(fmt.Sprintf("%s[%q]", field, k), "must be at most %d bytes", maxAttrValueLen)
		}
	}
}

// checkReason validates a free-text reason for an audited change.
func checkReason(reason, field string, v *errs.Violations) string {
	reason = strings.TrimSpace(reason)
	if reason == "" {
		v.Add(field, "is required")
	} else if utf8.RuneCountInString(reason) > maxReasonLen {
		v.Add(field, "must be at most %d characters", maxReasonLen)
	}
	return reason
}

// Transition is one recorded lifecycle stage change.
type Transition struct {
	ID         string
	CustomerID string
	From, To   Stage
	Reason     string
	Actor      string
	CreateTime time.Time
}

// LedgerEntry is one change of a customer's loyalty points.
type LedgerEntry struct {
	ID         string
	CustomerID string
	Delta      int64
	Balance    int64
	Reason     string
	Actor      string
	RequestID  string
	CreateTime time.Time
}

// DuplicateReason says why customers were grouped as likely duplicates.
type DuplicateReason string

// Duplicate reasons.
const (
	DuplicateEmail          DuplicateReason = "EMAIL"
	DuplicatePhone          DuplicateReason = "PHONE"
	DuplicateNameAndCompany DuplicateReason = "NAME_AND_COMPANY"
)

// DuplicateGroup is a set of customers that look like one.
type DuplicateGroup struct {
	Reason      DuplicateReason
	Key         string
	CustomerIDs []string
	Score       float64
}
