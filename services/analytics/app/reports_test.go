package app

import (
	"context"
	"testing"
	"time"

	"google.golang.org/grpc/codes"
	"google.golang.org/protobuf/types/known/durationpb"

	analyticsv1 "github.com/kehu-crm/kehu/pkg/api/kehu/analytics/v1"
	"github.com/kehu-crm/kehu/pkg/auth"
	"github.com/kehu-crm/kehu/pkg/testkit"
)

// A saved report runs on its schedule and on demand, keeps its latest
// result (the dashboard's message) and publishes each run.
func TestSavedReports(t *testing.T) {
	t.Parallel()
	e := start(t, func(c *Config) { c.Follow = false })
	mgr := testkit.As(t, "mia", auth.RoleManager)
	week := durationpb.New(7 * 24 * time.Hour)
	created, err := e.analytics.CreateReport(mgr, &analyticsv1.CreateReportRequest{ReportId: "monday-kpis", Report: &analyticsv1.Report{
		DisplayName: "周一服务指标", Dashboard: "SERVICE_KPIS", Period: week, Granularity: "WEEK", Schedule: "0 8 * * MON", TimeZone: "Asia/Shanghai"}})
	if err != nil {
		t.Fatal(err)
	}
	next := created.GetReport().GetNextRunTime().AsTime().In(time.FixedZone("CST", 8*3600))
	if next.Weekday() != time.Monday || next.Hour() != 8 || next.Minute() != 0 || !next.After(time.Now()) || next.After(time.Now().AddDate(0, 0, 7)) {
		t.Errorf("next run %s", next)
	}
	if created.GetReport().GetCreator() != "mia" || created.GetReport().GetLastResult() != nil {
		t.Errorf("created: %v", created)
	}
	for _, c := range []struct {
		field  string
		report *analyticsv1.Report
	}{
		{"report.schedule", &analyticsv1.Report{DisplayName: "x", Dashboard: "RFM_GRID", Period: week, Schedule: "every monday", TimeZone: "UTC"}},
		{"report.time_zone", &analyticsv1.Report{DisplayName: "x", Dashboard: "RFM_GRID", Period: week, Schedule: "0 8 * * *", TimeZone: "Mars/Olympus"}},
		{"report.dashboard", &analyticsv1.Report{DisplayName: "x", Dashboard: "PIE", Period: week, Schedule: "0 8 * * *", TimeZone: "UTC"}},
		{"report.period", &analyticsv1.Report{DisplayName: "x", Dashboard: "RFM_GRID", Schedule: "0 8 * * *", TimeZone: "UTC"}},
		{"currency_code", &analyticsv1.Report{DisplayName: "x", Dashboard: "RFM_GRID", Period: week, Schedule: "0 8 * * *", TimeZone: "UTC", CurrencyCode: "YUAN"}},
	} {
		_, err := e.analytics.CreateReport(mgr, &analyticsv1.CreateReportRequest{ReportId: "bad", Report: c.report})
		testkit.WantCode(t, err, codes.InvalidArgument, "", c.field)
	}
	_, err = e.analytics.CreateReport(testkit.As(t, "bob", auth.RoleAgent), &analyticsv1.CreateReportRequest{ReportId: "mine", Report: created.GetReport()})
	testkit.WantCode(t, err, codes.PermissionDenied, "", "")

	// On demand.
	ran, err := e.analytics.RunReport(mgr, &analyticsv1.RunReportRequest{Name: "reports/monday-kpis"})
	if err != nil {
		t.Fatal(err)
	}
	var kpis analyticsv1.ServiceKpis
	if ran.GetReport().GetLastRunTime() == nil || ran.GetReport().GetLastResult().UnmarshalTo(&kpis) != nil ||
		kpis.GetEndTime().AsTime().Sub(kpis.GetStartTime().AsTime()) != 7*24*time.Hour {
		t.Errorf("run: %v (%v)", ran, &kpis)
	}

	// On schedule: the time came (moved here rather than waited for).
	if _, err := e.readModel(t).Exec(context.Background(), `UPDATE reports SET next_run_time = now() - interval '1 minute'`); err != nil {
		t.Fatal(err)
	}
	if n, err := e.app.svc.RunDueReports(context.Background()); err != nil || n != 1 {
		t.Fatalf("due reports run: %d, %v", n, err)
	}
	got, err := e.analytics.GetReport(mgr, &analyticsv1.GetReportRequest{Name: "reports/monday-kpis"})
	if err != nil || !got.GetReport().GetNextRunTime().AsTime().After(time.Now()) || !got.GetReport().GetLastRunTime().AsTime().After(ran.GetReport().GetLastRunTime().AsTime()) {
		t.Errorf("after the scheduled run: %v %v", got, err)
	}
	if n, _ := e.app.svc.RunDueReports(context.Background()); n != 0 {
		t.Errorf("%d reports ran again before their time", n)
	}

	// Each run is an event carrying the result.
	ctx, cancel := context.WithTimeout(testkit.As(t, "webhooks", auth.RoleService), 3*time.Second)
	defer cancel()
	stream, err := e.analytics.StreamEvents(ctx, &analyticsv1.StreamEventsRequest{})
	if err != nil {
		t.Fatal(err)
	}
	completed := 0
	for {
		ev, err := stream.Recv()
		if err != nil {
			break
		}
		var p analyticsv1.ReportCompletedPayload
		if ev.GetEvent().GetType() == "report.completed" && ev.GetEvent().GetPayload().UnmarshalTo(&p) == nil && p.GetReport().GetLastResult() != nil {
			completed++
		}
	}
	if completed != 2 {
		t.Errorf("%d report.completed events, want 2", completed)
	}

	// A report that can no longer be answered (its segment is gone) waits
	// for its next time and does not hold the others back.
	if _, err := e.analytics.CreateSegment(mgr, &analyticsv1.CreateSegmentRequest{SegmentId: "short-lived", Segment: &analyticsv1.Segment{
		DisplayName: "Short-lived", Filter: "purchases_90d >= 1"}}); err != nil {
		t.Fatal(err)
	}
	if _, err := e.analytics.CreateReport(mgr, &analyticsv1.CreateReportRequest{ReportId: "orphan", Report: &analyticsv1.Report{
		DisplayName: "Orphan", Dashboard: "RFM_GRID", Period: week, Segment: "segments/short-lived", Schedule: "0 8 * * *", TimeZone: "UTC"}}); err != nil {
		t.Fatal(err)
	}
	if _, err := e.analytics.DeleteSegment(mgr, &analyticsv1.DeleteSegmentRequest{Name: "segments/short-lived"}); err != nil {
		t.Fatal(err)
	}
	if _, err := e.readModel(t).Exec(context.Background(), `UPDATE reports SET next_run_time = now() - interval '1 minute'`); err != nil {
		t.Fatal(err)
	}
	if _, err := e.app.svc.RunDueReports(context.Background()); err != nil {
		t.Fatalf("a report that cannot run stopped the pass: %v", err)
	}
	orphan, err := e.analytics.GetReport(mgr, &analyticsv1.GetReportRequest{Name: "reports/orphan"})
	if err != nil || orphan.GetReport().GetLastRunTime() != nil || !orphan.GetReport().GetNextRunTime().AsTime().After(time.Now()) {
		t.Errorf("the orphan report: %v %v", orphan, err)
	}
	if _, err := e.analytics.DeleteReport(mgr, &analyticsv1.DeleteReportRequest{Name: "reports/orphan"}); err != nil {
		t.Fatal(err)
	}
	got, err = e.analytics.GetReport(mgr, &analyticsv1.GetReportRequest{Name: "reports/monday-kpis"})
	if err != nil {
		t.Fatal(err)
	}

	list, err := e.analytics.ListReports(mgr, &analyticsv1.ListReportsRequest{})
	if err != nil || len(list.GetReports()) != 1 || list.GetReports()[0].GetLastResult() != nil {
		t.Errorf("list: %v %v", list, err)
	}
	_, err = e.analytics.DeleteReport(mgr, &analyticsv1.DeleteReportRequest{Name: "reports/monday-kpis", Etag: `"1"`})
	testkit.WantCode(t, err, codes.Aborted, "", "")
	if _, err := e.analytics.DeleteReport(mgr, &analyticsv1.DeleteReportRequest{Name: "reports/monday-kpis", Etag: got.GetReport().GetEtag()}); err != nil {
		t.Fatal(err)
	}
	_, err = e.analytics.GetReport(mgr, &analyticsv1.GetReportRequest{Name: "reports/monday-kpis"})
	testkit.WantCode(t, err, codes.NotFound, "", "")
}
