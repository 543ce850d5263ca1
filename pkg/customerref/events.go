package customerref

import "time"

// Customer event types other services react to.
const (
	EventMerged       = "customer.merged"
	EventUnmerged     = "customer.unmerged"
	EventPurged       = "customer.purged"
	EventStageChanged = "customer.stage_changed"
	EventCreated      = "customer.created"
)

// Event is an event of the customer service as other services need it.
type Event struct {
	Sequence int64
	Type     string
	// Actor is who made the change (a user id, or a service's).
	Actor string
	// CustomerID is the subject of the event.
	CustomerID string
	// Snapshot is the customer after the change, for events that carry it.
	Snapshot *Snapshot
	// Stage is the new stage of a stage change, StageTime when it changed.
	Stage     string
	StageTime time.Time
	// SurvivorID and MergedIDs describe a merge; SurvivorID and RestoredID
	// an unmerge.
	SurvivorID string
	MergedIDs  []string
	RestoredID string
}

// Snapshot is a customer as an event carried it.
type Snapshot struct {
	ID             string
	DisplayName    string
	Kind           string
	Source         string
	Stage          string
	ValueTier      string
	AccountManager string
	Tags           []string
	Birthday       string
	// Needs are the need types that drive the customer ("FUNCTIONAL",
	// "EMOTIONAL", "SOCIAL"); PriceSensitivity is "PRICE", "BALANCED",
	// "QUALITY" or "".
	Needs            []string
	PriceSensitivity string
	LoyaltyPoints    int64
	Since            time.Time
	Deleted          bool
	MergedInto       string
}
