package customer

// Event types written to the outbox. The Data of an event.Event is one of
// *Customer, MergedData, UnmergedData, PurgedData, *Transition or PointsData; the store
// encodes it with the codec it was given, so the domain stays free of wire
// formats.
const (
	EventCreated         = "customer.created"
	EventUpdated         = "customer.updated"
	EventDeleted         = "customer.deleted"
	EventUndeleted       = "customer.undeleted"
	EventMerged          = "customer.merged"
	EventUnmerged        = "customer.unmerged"
	EventPurged          = "customer.purged"
	EventStageChanged    = "customer.stage_changed"
	EventPointsChanged   = "customer.points_changed"
	EventManagerAssigned = "customer.account_manager_assigned"
)

// MergedData is the data of a customer.merged event.
type MergedData struct {
	SurvivorID string
	MergedIDs  []string
}

// UnmergedData is the data of a customer.unmerged event.
type UnmergedData struct {
	SurvivorID string
	RestoredID string
}

// PurgedData is the data of a customer.purged event.
type PurgedData struct {
	ID string
}

// PointsData is the data of a customer.points_changed event.
type PointsData struct {
	Entry      *LedgerEntry
	Membership Membership
}
