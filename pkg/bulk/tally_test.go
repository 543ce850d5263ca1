package bulk

import "testing"

// Errors are capped; counts and row numbers stay exact.
func TestTallyCapsErrorsNotCounts(t *testing.T) {
	var tally Tally
	for range MaxErrors + 5 {
		tally.Reject("ext", "customer", "is empty")
	}
	ok := tally.Next()
	tally.Fail(tally.Next(), "x", "external_id", "repeats row 3")
	if tally.Received != MaxErrors+7 || tally.Failed != MaxErrors+6 || len(tally.Errors) != MaxErrors || ok != MaxErrors+5 {
		t.Errorf("received %d, failed %d, errors kept %d, row %d", tally.Received, tally.Failed, len(tally.Errors), ok)
	}
	if last := tally.Errors[MaxErrors-1]; last.Row != MaxErrors-1 {
		t.Errorf("last kept error is row %d", last.Row)
	}
}
