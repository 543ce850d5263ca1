package interaction

import (
	"context"
	"fmt"
	"unicode/utf8"

	"github.com/kehu-crm/kehu/pkg/auth"
	"github.com/kehu-crm/kehu/pkg/bulk"
	"github.com/kehu-crm/kehu/pkg/errs"
	"github.com/kehu-crm/kehu/pkg/event"
)

// ImportBatchSize is how many rows the store imports at once: big enough
// for COPY to pay off, small enough to keep transactions and memory short.
const ImportBatchSize = 2000

// maxExternalID bounds an imported row's external id.
const maxExternalID = 128

// ImportRow is one valid row of an import, ready for the store: its
// position in the import, the source's id, and the interaction (its
// CustomerID as named by the row; Stage empty for the customer's current
// stage).
type ImportRow struct {
	Row         int64
	ExternalID  string
	Interaction *Interaction
}

// ImportOutcome is what became of one row the store was given, in the
// order given: created, skipped (imported before), or refused (Field and
// Err set). CustomerID and Stage are the stored ones: a merged customer
// resolves to the survivor.
type ImportOutcome struct {
	Row        int64
	Skipped    bool
	CustomerID string
	Stage      string
	Field, Err string
}

// ImportResult sums up an import.
type ImportResult struct {
	bulk.Tally
	Created, Skipped int64
}

// Importer records interactions of many customers, batch by batch. Bad
// rows are reported and skipped; they never abort the good ones. Each batch
// commits on its own with its events, so a broken stream loses at most the
// batch in flight, and a re-run skips what committed (by external id).
type Importer struct {
	s           *Service
	a           auth.Access
	res         ImportResult
	touchpoints map[string]bool
	buffer      []ImportRow
}

// NewImporter starts an import for the caller. Only callers who may see
// every customer import: a row is checked against the customer projection
// in bulk, not against the caller's scope.
func (s *Service) NewImporter(ctx context.Context) (*Importer, error) {
	a, err := auth.AccessFrom(ctx)
	if err != nil {
		return nil, err
	}
	if a.Scope() != "" {
		return nil, errs.PermissionDenied("importing interactions needs access to every customer")
	}
	tps, err := s.allTouchpoints(ctx)
	if err != nil {
		return nil, err
	}
	return &Importer{s: s, a: a, touchpoints: tps}, nil
}

// allTouchpoints returns the ids of every touchpoint: an import checks its
// rows against them without a query per row.
func (s *Service) allTouchpoints(ctx context.Context) (map[string]bool, error) {
	ids := map[string]bool{}
	for after := ""; ; {
		page, err := s.store.ListTouchpoints(ctx, after, maxPageSize)
		if err != nil {
			return nil, err
		}
		for _, t := range page {
			ids[t.ID] = true
		}
		if len(page) < maxPageSize {
			return ids, nil
		}
		after = page[len(page)-1].ID
	}
}

// Reject counts a row the transport could not decode as failed.
func (im *Importer) Reject(externalID, field, desc string) {
	im.res.Reject(externalID, field, desc)
}

// Add validates one row (parent "customers/{id}", the source's id, the
// interaction and the stage it happened in, "" for the customer's current
// one) and imports the buffer whenever a batch is full.
func (im *Importer) Add(ctx context.Context, parent, externalID string, in *Interaction, stage string) error {
	row := im.res.Next()
	switch n := utf8.RuneCountInString(externalID); {
	case n == 0:
		im.res.Fail(row, "", "external_id", "is required for import (a re-run skips rows imported before by it)")
		return nil
	case n > maxExternalID:
		im.res.Fail(row, externalID, "external_id", fmt.Sprintf("must be at most %d characters, got %d", maxExternalID, n))
		return nil
	}
	customerID, err := ParseParent("parent", parent, false)
	if err != nil {
		im.failWith(row, externalID, err)
		return nil
	}
	if in == nil {
		im.res.Fail(row, externalID, "interaction", "is required")
		return nil
	}
	i := *in
	if err := normalizeInteraction(&i, "interaction", im.s.now()); err != nil {
		im.failWith(row, externalID, err)
		return nil
	}
	if i.Agent == "" {
		i.Agent = im.a.Actor()
	}
	if i.Touchpoint != "" {
		id, err := ParseTouchpointName("interaction.touchpoint", i.Touchpoint)
		if err != nil {
			im.failWith(row, externalID, err)
			return nil
		}
		if !im.touchpoints[id] {
			im.res.Fail(row, externalID, "interaction.touchpoint", fmt.Sprintf("touchpoint %q does not exist", i.Touchpoint))
			return nil
		}
		i.Touchpoint = id
	}
	now := im.s.now()
	i.ID, i.CustomerID, i.Stage, i.Revision, i.CreateTime, i.UpdateTime = newID(), customerID, stage, 1, now, now
	im.buffer = append(im.buffer, ImportRow{Row: row, ExternalID: externalID, Interaction: &i})
	if len(im.buffer) >= ImportBatchSize {
		return im.flush(ctx)
	}
	return nil
}

// failWith reports every violation of a validation error.
func (im *Importer) failWith(row int64, ext string, err error) {
	e, _ := errs.As(err)
	if e == nil || len(e.Violations) == 0 {
		im.res.Fail(row, ext, "interaction", err.Error())
		return
	}
	for _, v := range e.Violations {
		im.res.Fail(row, ext, v.Field, v.Description)
	}
}

// flush imports the buffered rows; the store writes the created ones'
// events in the same transaction.
func (im *Importer) flush(ctx context.Context) error {
	if len(im.buffer) == 0 {
		return nil
	}
	var outcomes []ImportOutcome
	err := im.s.store.InTx(ctx, func(ctx context.Context, tx Tx) error {
		var err error
		if outcomes, err = tx.ImportInteractions(ctx, im.buffer); err != nil {
			return err
		}
		events := make([]event.Event, 0, len(outcomes))
		for n, o := range outcomes {
			if o.Err != "" || o.Skipped {
				continue
			}
			i := im.buffer[n].Interaction
			i.CustomerID, i.Stage = o.CustomerID, o.Stage
			events = append(events, event.Event{Type: EventInteractionCreated, Subject: InteractionName(i.CustomerID, i.ID), Actor: im.a.Actor(), Data: i})
		}
		return tx.Emit(ctx, events...)
	})
	if err != nil {
		return err
	}
	for n, o := range outcomes {
		switch {
		case o.Err != "":
			im.res.Fail(o.Row, im.buffer[n].ExternalID, o.Field, o.Err)
		case o.Skipped:
			im.res.Skipped++
		default:
			im.res.Created++
		}
	}
	im.buffer = im.buffer[:0]
	return nil
}

// Finish imports what is left and returns the result.
func (im *Importer) Finish(ctx context.Context) (ImportResult, error) {
	if err := im.flush(ctx); err != nil {
		return ImportResult{}, err
	}
	return im.res, nil
}
