// Package insight is the analytics domain: a read model of what happened
// with each customer, fed by the events of the customer, interaction and
// service-desk services, and the facts, scores and classes derived from it
// (客户分类, 客户分层). It speaks neither SQL nor protobuf.
package insight

import "time"

// Record is one interaction as the read model keeps it.
type Record struct {
	ID         string
	CustomerID string
	Channel    string
	Kind       string
	OccurTime  time.Time
	// Amount is an exact decimal ("1299.90"), with Currency; empty when
	// the interaction carries no money.
	Amount       string
	Currency     string
	Satisfaction int
	Deleted      bool
	// Touchpoint ("trade-show") and the customer's Stage when it happened,
	// for the journey map.
	Touchpoint string
	Stage      string
}

// Ticket is one service-desk ticket as the read model keeps it.
type Ticket struct {
	ID          string
	CustomerID  string
	Type        string
	Status      string
	CreateTime  time.Time
	ResolveTime *time.Time
	Deleted     bool
	// Queue ("support"), the first public reply, and how the first
	// response and resolution targets ended (MET, BREACHED or "").
	Queue                           string
	FirstResponseTime               *time.Time
	FirstResponseSLA, ResolutionSLA string
}

// FollowUp is a planned follow-up visit or care greeting.
type FollowUp struct {
	ID, CustomerID, Assignee string
	// CareRule is the rule that created it ("" for a visit someone planned).
	CareRule string
	// State is PLANNED, COMPLETED, MISSED or CANCELLED.
	State     string
	DueTime   time.Time
	CloseTime *time.Time
}

// Answer is a customer's survey answer.
type Answer struct {
	SurveyID   string
	TicketID   string
	CustomerID string
	Kind       string // CSAT or NPS
	Score      int
	AnswerTime time.Time
}

// Customer is the profile part of the read model.
type Customer struct {
	ID             string
	DisplayName    string
	Stage          string
	ValueTier      string
	AccountManager string
	Points         int64
	Deleted        bool
	// BirthMonth is the month of the birthday (0 unknown): all analytics
	// keeps of it.
	BirthMonth       int
	Needs            []string
	PriceSensitivity string
	// Since is when the customer was created (zero when unknown).
	Since time.Time
	// ManualStageTime is when a person last set the stage.
	ManualStageTime *time.Time
}

// Transition is a customer entering a lifecycle stage, for the journey map.
type Transition struct {
	CustomerID, Stage string
	At                time.Time
}

// Event is one event of a followed service, decoded for the domain: at
// most one of its parts is set.
type Event struct {
	Sequence   int64
	Type       string
	Customer   *Customer
	Record     *Record
	Ticket     *Ticket
	Answer     *Answer
	FollowUp   *FollowUp
	CustomerID string
	// Stage is the new lifecycle stage of a stage change, made by Actor
	// at StageTime.
	Stage     string
	StageTime time.Time
	Actor     string
	// SurvivorID and MergedIDs describe a customer merge, SurvivorID and
	// RestoredID an unmerge.
	SurvivorID string
	MergedIDs  []string
	RestoredID string
}

// Sources of events; each has its own cursor and leader.
const (
	SourceCustomer    = "customer"
	SourceInteraction = "interaction"
	SourceServiceDesk = "servicedesk"
)

// Event types the read model reacts to beyond record upserts.
const (
	EventCustomerMerged   = "customer.merged"
	EventCustomerUnmerged = "customer.unmerged"
	EventCustomerPurged   = "customer.purged"
	EventCustomerCreated  = "customer.created"
)

// CustomerName is a customer's resource name.
func CustomerName(id string) string { return "customers/" + id }
