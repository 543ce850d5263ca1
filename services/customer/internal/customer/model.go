// Package customer holds the customer service's domain: the customer
// profile, its validation and normalisation, who may see and change what,
// and the use cases (create, update, merge, lifecycle, loyalty, import). It
// knows neither protobuf nor SQL: the gRPC layer converts to and from these
// types and the store implements the Store interface declared here.
package customer

import (
	"fmt"
	"slices"
	"time"

	"github.com/kehu-crm/kehu/pkg/resource"
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
	return resource.ParseID(field, name, "customers", "customer")
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
