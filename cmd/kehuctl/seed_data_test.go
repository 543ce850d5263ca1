package main

import (
	"slices"
	"strconv"
	"testing"
	"time"

	interactionv1 "github.com/kehu-crm/kehu/pkg/api/kehu/interaction/v1"
)

// TestSeedDataShape checks the generated data set has the shape the
// dashboards are meant to show: exactly the interactions asked for, about
// four fifths of the revenue from a fifth of the buyers, a seasonal peak,
// churners gone quiet, and every kind, channel, touchpoint and stage.
func TestSeedDataShape(t *testing.T) {
	t.Parallel()
	const customers, interactions = 5000, 50_000
	now := time.Date(2026, 12, 7, 0, 0, 0, 0, time.UTC)
	g := newSeedGenerator(7, now, customers, interactions)
	var (
		total    int
		revenue  []float64
		months   [13]int
		kinds    = map[interactionv1.InteractionKind]bool{}
		channels = map[interactionv1.Channel]bool{}
		touch    = map[string]bool{}
		stages   = map[string]bool{}
		quiet    int
	)
	for i := range customers {
		rows := g.interactionRows(i, "customers/x")
		total += len(rows)
		if p := g.profile(i); p.churned && now.Sub(p.until) > 90*24*time.Hour {
			quiet++
		}
		spent := 0.0
		for _, r := range rows {
			in := r.GetInteraction()
			kinds[in.GetKind()], channels[in.GetChannel()], touch[in.GetTouchpoint()], stages[r.GetLifecycleStage().String()] = true, true, true, true
			months[in.GetOccurTime().AsTime().Month()]++
			if in.GetKind() == interactionv1.InteractionKind_INTERACTION_KIND_PURCHASE && in.GetAmount().GetCurrencyCode() == "CNY" {
				a, err := strconv.ParseFloat(in.GetAmount().GetAmount(), 64)
				if err != nil {
					t.Fatal(err)
				}
				spent += a
			}
		}
		if spent > 0 {
			revenue = append(revenue, spent)
		}
		if c := g.customer(i); c.GetExternalId() == "" || c.GetCreateTime().AsTime().After(now) {
			t.Fatalf("customer %d: %v", i, c)
		}
	}
	if total != interactions {
		t.Fatalf("%d interactions, want %d", total, interactions)
	}
	slices.Sort(revenue)
	slices.Reverse(revenue)
	var all, top float64
	for n, r := range revenue {
		all += r
		if n < len(revenue)/5 {
			top += r
		}
	}
	if share := top / all; share < 0.65 || share > 0.9 {
		t.Errorf("the top fifth of buyers hold %.0f %% of the revenue, want about 80 %%", 100*share)
	}
	if months[time.November] <= months[time.April] {
		t.Errorf("no Singles' Day peak: %v", months)
	}
	if quiet < customers/10 {
		t.Errorf("%d of %d customers gone quiet, want about a fifth", quiet, customers)
	}
	if len(kinds) != 8 || len(touch) != len(seedTouchpoints) || len(stages) != 5 || len(channels) < 7 {
		t.Errorf("kinds %d, touchpoints %d, stages %v, channels %d: want all of each", len(kinds), len(touch), stages, len(channels))
	}
}
