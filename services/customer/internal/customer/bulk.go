package customer

import (
	"cmp"
	"context"
	"fmt"
	"slices"
	"sync"
	"time"

	"github.com/kehu-crm/kehu/pkg/auth"
	"github.com/kehu-crm/kehu/pkg/bulk"
	"github.com/kehu-crm/kehu/pkg/errs"
)

// ImportBatchSize is how many rows the store merges at once: big enough for
// COPY to pay off, small enough to keep transactions and memory short.
const ImportBatchSize = 1000

// ImportResult sums up an import.
type ImportResult struct {
	bulk.Tally
	Created, Updated int64
}

// Importer upserts customers by external id, batch by batch. Bad rows are
// reported and skipped; they never abort the good ones. Each batch commits on
// its own, so a broken connection loses at most the batch in flight.
//
// A full batch is merged in the background while the next one is
// validated, one batch at a time: each is merged after the one before it
// committed, so it sees that batch's customers and contacts.
type Importer struct {
	s      *Service
	a      auth.Access
	seen   map[string]int64 // external id -> row, to catch repeats in one import
	buffer []ImportRow
	// merging receives the outcome of the batch being merged; nil when
	// none is.
	merging chan error

	mu  sync.Mutex // guards res: the merging batch reports into it
	res ImportResult
}

// NewImporter starts an import for the caller.
func (s *Service) NewImporter(ctx context.Context) (*Importer, error) {
	a, err := auth.AccessFrom(ctx)
	if err != nil {
		return nil, err
	}
	return &Importer{s: s, a: a, seen: map[string]int64{}}, nil
}

func (im *Importer) fail(row int64, ext, field, desc string) {
	im.mu.Lock()
	defer im.mu.Unlock()
	im.res.Fail(row, ext, field, desc)
}

// Reject counts a row the transport could not decode as failed.
func (im *Importer) Reject(externalID, field, desc string) {
	im.mu.Lock()
	defer im.mu.Unlock()
	im.res.Reject(externalID, field, desc)
}

// Add validates rows and merges them whenever a batch is full.
func (im *Importer) Add(ctx context.Context, rows []*Customer) error {
	for _, c := range rows {
		row := im.res.Next()
		if c == nil {
			im.fail(row, "", "customer", "is empty")
			continue
		}
		c = c.Clone()
		if c.ExternalID == "" {
			im.fail(row, "", "external_id", "is required for import (rows are upserted by it)")
			continue
		}
		if c.Source == "" {
			c.Source = SourceImport
		}
		if err := im.s.norm.Normalize(c, "customer"); err != nil {
			e, _ := errs.As(err)
			for _, v := range e.Violations {
				im.fail(row, c.ExternalID, v.Field, v.Description)
			}
			continue
		}
		if err := im.a.CheckAssignee(c.AccountManager, "account_manager"); err != nil {
			im.fail(row, c.ExternalID, "account_manager", err.Error())
			continue
		}
		now := im.s.now()
		switch {
		case c.CreateTime.IsZero():
			c.CreateTime = now
		case c.CreateTime.After(now):
			im.fail(row, c.ExternalID, "create_time", "is in the future")
			continue
		}
		c.CreateTime, c.UpdateTime = c.CreateTime.UTC().Truncate(time.Microsecond), now
		if first, dup := im.seen[c.ExternalID]; dup {
			im.fail(row, c.ExternalID, "external_id", fmt.Sprintf("repeats row %d of this import", first))
			continue
		}
		im.seen[c.ExternalID] = row
		im.buffer = append(im.buffer, ImportRow{Row: row, Customer: c})
		if len(im.buffer) >= ImportBatchSize {
			if err := im.flush(ctx); err != nil {
				return err
			}
		}
	}
	return nil
}

// flush starts merging the buffered rows once the batch before them is
// merged.
func (im *Importer) flush(ctx context.Context) error {
	if err := im.Wait(); err != nil {
		return err
	}
	if len(im.buffer) == 0 {
		return nil
	}
	batch := im.buffer
	im.buffer = make([]ImportRow, 0, ImportBatchSize)
	done := make(chan error, 1)
	im.merging = done
	go func() { done <- im.merge(ctx, batch) }()
	return nil
}

// Wait waits for the batch being merged, if any, and returns its error.
// An import that ends early waits too: its last batch then stays merged
// or not, never half.
func (im *Importer) Wait() error {
	if im.merging == nil {
		return nil
	}
	err := <-im.merging
	im.merging = nil
	return err
}

// merge writes one batch and accounts for its outcomes.
func (im *Importer) merge(ctx context.Context, batch []ImportRow) error {
	for _, r := range batch {
		r.Customer.ID = newID()
		r.Customer.Membership = im.s.tiers.For(0)
	}
	outcomes, err := im.s.store.Import(ctx, batch, im.a.Actor())
	if err != nil {
		return err
	}
	var ids []string
	for _, o := range outcomes {
		switch {
		case o.Err != "":
			im.fail(o.Row, batch[indexOfRow(batch, o.Row)].Customer.ExternalID, o.Field, o.Err)
		case o.Created:
			im.count(&im.res.Created)
		default:
			im.count(&im.res.Updated)
			ids = append(ids, o.ID)
		}
	}
	im.s.cache.Invalidate(ctx, ids...)
	return nil
}

func (im *Importer) count(n *int64) {
	im.mu.Lock()
	*n++
	im.mu.Unlock()
}

func indexOfRow(rows []ImportRow, row int64) int {
	for i, r := range rows {
		if r.Row == row {
			return i
		}
	}
	return 0
}

// Finish merges what is left and returns the result. After a large load
// the planner's statistics are refreshed: planned with the old ones (an
// empty table, say), a filtered list scans every customer instead of
// walking an index, and autovacuum may be off or minutes away.
func (im *Importer) Finish(ctx context.Context) (ImportResult, error) {
	if err := im.flush(ctx); err != nil {
		return ImportResult{}, err
	}
	if err := im.Wait(); err != nil {
		return ImportResult{}, err
	}
	// Rows the store refused were reported after later rows that failed
	// validation.
	slices.SortStableFunc(im.res.Errors, func(a, b bulk.RowError) int { return cmp.Compare(a.Row, b.Row) })
	if im.res.Created+im.res.Updated >= refreshStatisticsAfter {
		if err := im.s.store.RefreshStatistics(ctx); err != nil {
			return ImportResult{}, err
		}
	}
	return im.res, nil
}

// refreshStatisticsAfter is the import size from which statistics are
// refreshed (it takes a few hundred milliseconds on a million customers).
const refreshStatisticsAfter = 1000

// exportChunk is how many customers Export sends at once.
const exportChunk = 500

// Export streams every customer matching filter, as the caller may see them,
// in chunks. It pages by id so that it sees each customer once however long
// the export runs.
func (s *Service) Export(ctx context.Context, filter string, showDeleted bool, send func([]*Customer) error) error {
	a, err := auth.AccessFrom(ctx)
	if err != nil {
		return err
	}
	after := Cursor{}
	for {
		rows, err := s.store.List(ctx, ListQuery{
			Filter: filter, Scope: a.Scope(), Hidden: hiddenFrom(a), Order: Order{Field: "id"}, After: after, Limit: exportChunk, ShowDeleted: showDeleted,
		})
		if err != nil {
			return err
		}
		if len(rows) == 0 {
			return nil
		}
		for i, c := range rows {
			rows[i] = view(a, c)
		}
		if err := send(rows); err != nil {
			return err
		}
		if len(rows) < exportChunk {
			return nil
		}
		after = Cursor{ID: rows[len(rows)-1].ID}
	}
}
