package main

import (
	"context"
	"fmt"
	"strings"
	"time"

	analyticsv1 "github.com/kehu-crm/kehu/pkg/api/kehu/analytics/v1"
	customerv1 "github.com/kehu-crm/kehu/pkg/api/kehu/customer/v1"
)

// demoAnalytics waits for the analytics service to follow the demo data,
// scores it at once (rather than at the next hourly pass) and reports the
// built-in segments' sizes.
func demoAnalytics(ctx context.Context, customers customerv1.CustomerServiceClient, analytics analyticsv1.AnalyticsServiceClient) error {
	list, err := customers.ListCustomers(ctx, &customerv1.ListCustomersRequest{Filter: `external_id = "demo-006" OR external_id = "demo-008"`})
	if err != nil {
		return err
	}
	followed := func() bool {
		for _, c := range list.GetCustomers() {
			r, err := analytics.GetCustomerInsights(ctx, &analyticsv1.GetCustomerInsightsRequest{Customer: c.GetName()})
			f := r.GetInsights().GetFacts()
			if err != nil || f.GetLastPurchaseTime() == nil || (c.GetExternalId() == "demo-006" && f.GetComplaints_90D() < 2) {
				return false
			}
		}
		return true
	}
	for deadline := time.Now().Add(30 * time.Second); !followed(); time.Sleep(200 * time.Millisecond) {
		if time.Now().After(deadline) {
			return fmt.Errorf("the analytics service has not followed the demo data after 30 s; is it running?")
		}
	}
	res, err := analytics.RecomputeAll(ctx, &analyticsv1.RecomputeAllRequest{})
	if err != nil {
		return fmt.Errorf("scoring: %w", err)
	}
	segments, err := analytics.ListSegments(ctx, &analyticsv1.ListSegmentsRequest{PageSize: 100})
	if err != nil {
		return err
	}
	var sizes, empty []string
	for _, g := range segments.GetSegments() {
		if !g.GetBuiltin() {
			continue
		}
		id := strings.TrimPrefix(g.GetName(), "segments/")
		sizes = append(sizes, fmt.Sprintf("%s %d", id, g.GetMemberCount()))
		if g.GetMemberCount() == 0 {
			empty = append(empty, id)
		}
	}
	logf("demo: %d customers scored in %s; built-in segments: %s", res.GetCustomersScored(), res.GetDuration().AsDuration().Round(time.Millisecond), strings.Join(sizes, ", "))
	if len(empty) > 0 {
		logf("demo: warning: empty built-in segments: %s", strings.Join(empty, ", "))
	}
	return nil
}
