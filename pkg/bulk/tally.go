// Package bulk keeps the account of a bulk import the same way in every
// service: each row received is numbered, a bad row is counted and
// reported but never aborts the good ones, and the errors sent back are
// capped while the counts stay exact.
package bulk

// MaxErrors caps the per-row errors an import returns.
const MaxErrors = 1000

// RowError is one rejected row of an import.
type RowError struct {
	Row         int64
	ExternalID  string
	Field       string
	Description string
}

// Tally counts the rows an import received and rejected. Each service's
// import result embeds it beside its own outcome counts.
type Tally struct {
	Received, Failed int64
	Errors           []RowError
}

// Next numbers the next row received (from 0).
func (t *Tally) Next() int64 {
	row := t.Received
	t.Received++
	return row
}

// Fail counts row as rejected, keeping its error while fewer than MaxErrors
// are kept.
func (t *Tally) Fail(row int64, externalID, field, description string) {
	t.Failed++
	if len(t.Errors) < MaxErrors {
		t.Errors = append(t.Errors, RowError{Row: row, ExternalID: externalID, Field: field, Description: description})
	}
}

// Reject counts a row the transport could not even decode as received and
// rejected.
func (t *Tally) Reject(externalID, field, description string) {
	t.Fail(t.Next(), externalID, field, description)
}
