package interaction

import "time"

// Event types. The Data of an event.Event is *Interaction, *FollowUp or
// RecordsMoved; the store encodes it with the codec it was given.
const (
	EventInteractionCreated   = "interaction.created"
	EventInteractionUpdated   = "interaction.updated"
	EventInteractionDeleted   = "interaction.deleted"
	EventInteractionUndeleted = "interaction.undeleted"
	EventFollowUpCreated      = "follow_up.created"
	EventFollowUpUpdated      = "follow_up.updated"
	EventFollowUpCompleted    = "follow_up.completed"
	EventFollowUpMissed       = "follow_up.missed"
	EventFollowUpCancelled    = "follow_up.cancelled"
	EventRecordsMoved         = "interaction.customer_records_moved"
)

// RecordsMoved is the data of an interaction.customer_records_moved event:
// records moved to SurvivorID from MergedIDs (by a merge, or back to the
// restored customer by an unmerge).
type RecordsMoved struct {
	SurvivorID   string
	MergedIDs    []string
	Interactions int64
	FollowUps    int64
	Time         time.Time
}
