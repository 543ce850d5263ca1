package store

import (
	"context"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/kehu-crm/kehu/pkg/errs"
	"github.com/kehu-crm/kehu/pkg/pg"
	"github.com/kehu-crm/kehu/services/analytics/internal/insight"
)

const reportColumns = `id, display_name, dashboard, period_seconds, segment, account_manager, granularity, currency_code, schedule, time_zone,
	creator, creator_roles, next_run_time, last_run_time, revision, create_time`

func scanReport(row pgx.Row, withResult bool) (*insight.Report, error) {
	var r insight.Report
	var seconds int64
	dest := []any{&r.ID, &r.DisplayName, &r.Dashboard, &seconds, &r.Segment, &r.AccountManager, &r.Granularity, &r.Currency,
		&r.Schedule, &r.TimeZone, &r.Creator, &r.CreatorRoles, &r.NextRunTime, &r.LastRunTime, &r.Revision, &r.CreateTime}
	if withResult {
		dest = append(dest, &r.LastResult)
	}
	err := row.Scan(dest...)
	r.Period = time.Duration(seconds) * time.Second
	r.NextRunTime, r.CreateTime = r.NextRunTime.UTC(), r.CreateTime.UTC()
	return &r, err
}

// InsertReport implements insight.Store.
func (s *Store) InsertReport(ctx context.Context, r *insight.Report) error {
	_, err := s.pool.Exec(ctx, `INSERT INTO reports (id, display_name, dashboard, period_seconds, segment, account_manager, granularity, currency_code,
			schedule, time_zone, creator, creator_roles, next_run_time)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13)`,
		r.ID, r.DisplayName, r.Dashboard, int64(r.Period/time.Second), r.Segment, r.AccountManager, r.Granularity, r.Currency,
		r.Schedule, r.TimeZone, r.Creator, r.CreatorRoles, r.NextRunTime)
	if pg.ConstraintName(err) == "reports_pkey" {
		return errs.AlreadyExists("REPORT_EXISTS", "%s already exists", insight.ReportName(r.ID))
	}
	return pg.Classify(err)
}

// GetReport implements insight.Store, with the latest result.
func (s *Store) GetReport(ctx context.Context, id string) (*insight.Report, error) {
	return pg.One(s.pool.QueryRow(ctx, `SELECT `+reportColumns+`, last_result FROM reports WHERE id = $1`, id),
		func(r pgx.Row) (*insight.Report, error) { return scanReport(r, true) }, insight.ReportName(id))
}

// ListReports implements insight.Store, without results.
func (s *Store) ListReports(ctx context.Context, after string, limit int) ([]*insight.Report, error) {
	rows, err := s.pool.Query(ctx, `SELECT `+reportColumns+` FROM reports WHERE id > $1 ORDER BY id LIMIT $2`, after, limit)
	return pg.Collect(rows, err, func(r pgx.Row) (*insight.Report, error) { return scanReport(r, false) })
}

// DeleteReport implements insight.Store: only at the given revision.
func (s *Store) DeleteReport(ctx context.Context, id string, revision int64) error {
	tag, err := s.pool.Exec(ctx, `DELETE FROM reports WHERE id = $1 AND revision = $2`, id, revision)
	if err == nil && tag.RowsAffected() == 0 {
		return errs.EtagMismatch(insight.ReportName(id))
	}
	return pg.Classify(err)
}

// DueReports implements insight.Store.
func (s *Store) DueReports(ctx context.Context, now time.Time, limit int) ([]string, error) {
	rows, err := s.pool.Query(ctx, `SELECT id FROM reports WHERE next_run_time <= $1 ORDER BY next_run_time LIMIT $2`, now, limit)
	return pg.Collect(rows, err, func(r pgx.Row) (string, error) {
		var id string
		return id, r.Scan(&id)
	})
}

// Reschedule implements insight.Store.
func (s *Store) Reschedule(ctx context.Context, id string, next time.Time) error {
	_, err := s.pool.Exec(ctx, `UPDATE reports SET next_run_time = $2 WHERE id = $1`, id, next)
	return pg.Classify(err)
}

// SaveRun implements insight.Tx: the run's result and the next run.
func (t *tx) SaveRun(ctx context.Context, id string, at, next time.Time, result []byte) error {
	_, err := t.tx.Exec(ctx, `UPDATE reports SET last_run_time = $2, last_result = $3, next_run_time = $4, revision = revision + 1 WHERE id = $1`,
		id, at, result, next)
	return pg.Classify(err)
}
