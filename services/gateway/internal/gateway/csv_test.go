package gateway

import (
	"encoding/json"
	"fmt"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// Dashboards' answers become tables: a row per element of each series,
// with the fields around it, and a series column where an object holds
// several.
func TestFlatten(t *testing.T) {
	var answer map[string]any
	if err := json.Unmarshal([]byte(`{"startTime": "2026-01-01T00:00:00Z", "currencies": [
		{"currencyCode": "CNY", "revenue": "100", "pareto": [{"customerPercent": 50, "revenuePercent": 80}],
		 "tiers": [{"tier": "A", "customers": "1"}, {"tier": "C", "customers": "1"}]},
		{"currencyCode": "USD", "revenue": "7", "pareto": [], "tiers": [{"tier": "A", "customers": "1"}]}],
		"labels": ["x", "y"], "current": {"entered": "3"}}`), &answer); err != nil {
		t.Fatal(err)
	}
	columns, rows := flatten(answer)
	wantColumns := []string{"current.entered", "labels", "startTime", "currencies.currencyCode", "currencies.revenue", "series",
		"currencies.pareto.customerPercent", "currencies.pareto.revenuePercent", "currencies.tiers.customers", "currencies.tiers.tier"}
	if diff := cmp.Diff(wantColumns, columns); diff != "" {
		t.Errorf("columns (-want +got):\n%s", diff)
	}
	var got []string
	for _, r := range rows {
		got = append(got, fmt.Sprint(r["series"], " ", r["currencies.currencyCode"], " ", r["currencies.pareto.revenuePercent"], r["currencies.tiers.tier"], " ", r["labels"]))
	}
	want := []string{"currencies.pareto CNY 80 x;y", "currencies.tiers CNY A x;y", "currencies.tiers CNY C x;y", "currencies.tiers USD A x;y"}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("rows (-want +got):\n%s", diff)
	}
}
