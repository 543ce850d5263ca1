package insight

import (
	"context"
	"errors"
	"log/slog"
	"strconv"
	"strings"
	"time"

	"github.com/robfig/cron/v3"

	"github.com/kehu-crm/kehu/pkg/auth"
	"github.com/kehu-crm/kehu/pkg/errs"
	"github.com/kehu-crm/kehu/pkg/event"
	"github.com/kehu-crm/kehu/pkg/pagetoken"
	"github.com/kehu-crm/kehu/pkg/resource"
)

// Report is a saved dashboard with its parameters and schedule.
type Report struct {
	ID, DisplayName, Dashboard           string
	Period                               time.Duration
	Segment, AccountManager, Granularity string
	Currency                             string
	// Schedule is a cron expression in TimeZone.
	Schedule, TimeZone string
	// Creator and CreatorRoles are whose access runs have.
	Creator      string
	CreatorRoles []string
	NextRunTime  time.Time
	LastRunTime  *time.Time
	// LastResult is the latest result, encoded by the ReportCodec.
	LastResult []byte
	Revision   int64
	CreateTime time.Time
}

// ReportName is a report's resource name.
func ReportName(id string) string { return "reports/" + id }

// Etag is the report's strong etag.
func (r *Report) Etag() string { return strconv.Quote(strconv.FormatInt(r.Revision, 10)) }

// ReportCodec encodes a dashboard's answer (e.g. *JourneyMap) for keeping
// and publishing; the transport layer provides it.
type ReportCodec func(answer any) ([]byte, error)

// ReportCompleted is the data of a report.completed event.
type ReportCompleted struct{ Report *Report }

// EventReportCompleted is published after each run of a report.
const EventReportCompleted = "report.completed"

// dashboards answer a report's request, by dashboard name.
var dashboards = map[string]func(*Service, context.Context, DashboardRequest) (any, error){
	"JOURNEY_MAP": func(s *Service, ctx context.Context, r DashboardRequest) (any, error) { return s.GetJourneyMap(ctx, r) },
	"LIFECYCLE_FUNNEL": func(s *Service, ctx context.Context, r DashboardRequest) (any, error) {
		return s.GetLifecycleFunnel(ctx, r)
	},
	"VALUE_DISTRIBUTION": func(s *Service, ctx context.Context, r DashboardRequest) (any, error) {
		return s.GetValueDistribution(ctx, r)
	},
	"RFM_GRID": func(s *Service, ctx context.Context, r DashboardRequest) (any, error) { return s.GetRfmGrid(ctx, r) },
	"SERVICE_KPIS": func(s *Service, ctx context.Context, r DashboardRequest) (any, error) {
		return s.GetServiceKpis(ctx, r)
	},
	"COHORT_RETENTION": func(s *Service, ctx context.Context, r DashboardRequest) (any, error) {
		return s.GetCohortRetention(ctx, r)
	},
	"CARE_AND_FOLLOW_UP": func(s *Service, ctx context.Context, r DashboardRequest) (any, error) {
		return s.GetCareAndFollowUp(ctx, r)
	},
}

var cronParser = cron.NewParser(cron.Minute | cron.Hour | cron.Dom | cron.Month | cron.Dow | cron.Descriptor)

// request is the dashboard request of a run at now.
func (r *Report) request(now time.Time) DashboardRequest {
	start := now.Add(-r.Period)
	return DashboardRequest{Start: &start, End: &now, Segment: r.Segment, AccountManager: r.AccountManager,
		Granularity: r.Granularity, Currency: r.Currency}
}

// next is the first scheduled run after t.
func (r *Report) next(t time.Time) (time.Time, error) {
	loc, err := time.LoadLocation(r.TimeZone)
	if err != nil {
		return time.Time{}, errs.InvalidField("report.time_zone", "must be an IANA time zone such as Asia/Shanghai, got %q", r.TimeZone)
	}
	sched, err := cronParser.Parse(r.Schedule)
	if err != nil {
		return time.Time{}, errs.InvalidField("report.schedule", "must be a cron expression such as \"0 8 * * MON\": %v", err)
	}
	return sched.Next(t.In(loc)).UTC(), nil
}

// CreateReport saves a report; its parameters are checked as the
// dashboard checks them, for its creator.
func (s *Service) CreateReport(ctx context.Context, id string, in *Report) (*Report, error) {
	a, err := auth.AccessFrom(ctx)
	if err != nil {
		return nil, err
	}
	if in == nil {
		return nil, errs.InvalidField("report", "is required")
	}
	var v errs.Violations
	if !slugPattern.MatchString(id) {
		v.Add("report_id", "must be 2-63 lower-case letters, digits or '-', starting with a letter, got %q", id)
	}
	if strings.TrimSpace(in.DisplayName) == "" || len(in.DisplayName) > 200 {
		v.Add("report.display_name", "is required (at most 200 characters)")
	}
	if dashboards[in.Dashboard] == nil {
		v.Add("report.dashboard", "must be one of JOURNEY_MAP, LIFECYCLE_FUNNEL, VALUE_DISTRIBUTION, RFM_GRID, SERVICE_KPIS, COHORT_RETENTION, CARE_AND_FOLLOW_UP, got %q", in.Dashboard)
	}
	if in.Period < time.Hour || in.Period > maxPeriod {
		v.Add("report.period", "must be between an hour and 10 years, got %s", in.Period)
	}
	if err := v.Err(); err != nil {
		return nil, err
	}
	r := *in
	r.ID, r.Creator, r.CreatorRoles, r.Revision = id, a.Subject, roleNames(a.Roles), 1
	now := s.now()
	if r.NextRunTime, err = r.next(now); err != nil {
		return nil, err
	}
	// The dashboard refuses what it could not answer: same fields, same
	// messages (segment, granularity, currency).
	if _, err := s.dashboardQuery(ctx, r.request(now)); err != nil {
		return nil, err
	}
	if r.Granularity != "" && r.Dashboard == "SERVICE_KPIS" && r.Granularity != "WEEK" && r.Granularity != "MONTH" {
		return nil, errs.InvalidField("report.granularity", "must be WEEK or MONTH, got %q", r.Granularity)
	}
	if err := s.store.InsertReport(ctx, &r); err != nil {
		return nil, err
	}
	return s.store.GetReport(ctx, id)
}

func roleNames(roles []auth.Role) []string {
	out := make([]string, len(roles))
	for i, r := range roles {
		out[i] = string(r)
	}
	return out
}

// GetReport returns a report with its latest result.
func (s *Service) GetReport(ctx context.Context, name string) (*Report, error) {
	id, err := parseReportName("name", name)
	if err != nil {
		return nil, err
	}
	r, err := s.store.GetReport(ctx, id)
	return r, notFoundAs(err, name)
}

// ListReports pages reports by id.
func (s *Service) ListReports(ctx context.Context, pageSize int32, pageToken string) ([]*Report, string, error) {
	size, err := pagetoken.Size(pageSize, 50, 1000)
	if err != nil {
		return nil, "", err
	}
	var after string
	if pageToken != "" {
		if err := pagetoken.Decode(pageToken, "reports", &after); err != nil {
			return nil, "", err
		}
	}
	rows, err := s.store.ListReports(ctx, after, size+1)
	if err != nil {
		return nil, "", err
	}
	next := ""
	if len(rows) > size {
		rows = rows[:size]
		next = pagetoken.Encode("reports", rows[size-1].ID)
	}
	return rows, next, nil
}

// DeleteReport deletes a report.
func (s *Service) DeleteReport(ctx context.Context, name, etag string) error {
	id, err := parseReportName("name", name)
	if err != nil {
		return err
	}
	cur, err := s.store.GetReport(ctx, id)
	if err != nil {
		return notFoundAs(err, name)
	}
	if err := resource.CheckEtag(etag, cur.Etag(), name); err != nil {
		return err
	}
	return s.store.DeleteReport(ctx, id, cur.Revision)
}

// RunReport computes a report now.
func (s *Service) RunReport(ctx context.Context, name string) (*Report, error) {
	id, err := parseReportName("name", name)
	if err != nil {
		return nil, err
	}
	r, err := s.store.GetReport(ctx, id)
	if err != nil {
		return nil, notFoundAs(err, name)
	}
	if err := s.run(ctx, r); err != nil {
		return nil, err
	}
	return s.store.GetReport(ctx, id)
}

// RunDueReports runs the reports whose time has come; the reports pass
// calls it on one replica.
func (s *Service) RunDueReports(ctx context.Context) (int, error) {
	ids, err := s.store.DueReports(ctx, s.now(), 100)
	if err != nil {
		return 0, err
	}
	for n, id := range ids {
		r, err := s.store.GetReport(ctx, id)
		if errs.Is(err, errs.KindNotFound) {
			continue
		}
		if err != nil {
			return n, err
		}
		err = s.run(ctx, r)
		if errs.Is(err, errs.KindNotFound) || errs.Is(err, errs.KindInvalidArgument) || errs.Is(err, errs.KindFailedPrecondition) {
			// The report can no longer be answered (its segment was
			// deleted, say): it waits for its next time rather than block
			// the others, and says why.
			slog.WarnContext(ctx, "saved report could not run; skipped to its next time", "report", ReportName(id), "error", err)
			next, nerr := r.next(s.now())
			if nerr == nil {
				nerr = s.store.Reschedule(ctx, id, next)
			}
			if nerr != nil {
				return n, nerr
			}
			continue
		}
		if err != nil {
			return n, err
		}
	}
	return len(ids), nil
}

// run computes a report as its creator, keeps the result and publishes
// it in one transaction, and schedules the next run.
func (s *Service) run(ctx context.Context, r *Report) error {
	if s.cfg.Reports == nil {
		return errs.Internal(errors.New("no report codec configured"))
	}
	roles := make([]auth.Role, 0, len(r.CreatorRoles))
	for _, name := range r.CreatorRoles {
		if role, err := auth.ParseRole(name); err == nil {
			roles = append(roles, role)
		}
	}
	now := s.now()
	answer, err := dashboards[r.Dashboard](s, auth.NewContext(ctx, auth.Principal{Subject: r.Creator, Roles: roles}), r.request(now))
	if err != nil {
		return err
	}
	encoded, err := s.cfg.Reports(answer)
	if err != nil {
		return errs.Internal(err)
	}
	next, err := r.next(now)
	if err != nil {
		return err
	}
	ran := *r
	ran.LastRunTime, ran.LastResult, ran.NextRunTime, ran.Revision = &now, encoded, next, r.Revision+1
	return s.store.InTx(ctx, func(ctx context.Context, tx Tx) error {
		if err := tx.SaveRun(ctx, r.ID, now, next, encoded); err != nil {
			return err
		}
		return tx.Emit(ctx, event.Event{Type: EventReportCompleted, Subject: ReportName(r.ID), Actor: "kehu-analytics", Data: ReportCompleted{Report: &ran}})
	})
}

func parseReportName(field, name string) (string, error) {
	id, ok := strings.CutPrefix(name, "reports/")
	if !ok || !slugPattern.MatchString(id) {
		return "", errs.InvalidField(field, "must be a name like \"reports/{id}\", got %q", name)
	}
	return id, nil
}
