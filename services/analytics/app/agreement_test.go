package app

import (
	"context"
	"fmt"
	"math/rand/v2"
	"sync"
	"testing"
	"time"

	"github.com/google/uuid"

	analyticsv1 "github.com/kehu-crm/kehu/pkg/api/kehu/analytics/v1"
	"github.com/kehu-crm/kehu/pkg/auth"
	"github.com/kehu-crm/kehu/pkg/testkit"
	"github.com/kehu-crm/kehu/services/analytics/internal/insight"
)

// Segment memberships kept incrementally (each event re-evaluating its
// customer) agree with a full set-based evaluation, on a generated base of
// two thousand customers (birth months and needs included) with
// purchases, tickets and surveys arriving from three sources in
// interleaved order, with a scoring pass halfway.
//
// Not parallel: applying thousands of events one by one would starve the
// other tests of the package of the machine.
func TestIncrementalAgreesWithFullEvaluation(t *testing.T) {
	e := start(t, func(c *Config) { c.Follow = false })
	ctx := context.Background()
	rng := rand.New(rand.NewPCG(3, 5))
	now := time.Now().UTC()
	seq := map[string]int64{}
	apply := func(source string, ev insight.Event) {
		t.Helper()
		seq[source]++
		ev.Sequence = seq[source]
		if err := e.app.svc.Apply(ctx, source, ev); err != nil {
			t.Fatal(err)
		}
	}
	stages := []string{"PROSPECT", "FIRST_PURCHASE", "REPEAT", "LOYAL", "AT_RISK"}
	type pending struct {
		source string
		ev     insight.Event
	}
	var later []pending
	needs := [][]string{nil, {"FUNCTIONAL"}, {"EMOTIONAL", "SOCIAL"}, {"SOCIAL"}}
	for i := range 2000 {
		id := uuid.NewString()
		apply(insight.SourceCustomer, insight.Event{Customer: &insight.Customer{ID: id, DisplayName: fmt.Sprint("C", i),
			Stage: stages[rng.IntN(len(stages))], AccountManager: []string{"", "bob", "alice"}[rng.IntN(3)],
			BirthMonth: rng.IntN(13), Needs: needs[rng.IntN(len(needs))], PriceSensitivity: []string{"", "PRICE", "QUALITY"}[rng.IntN(3)]}})
		for range rng.IntN(4) {
			r := &insight.Record{ID: uuid.NewString(), CustomerID: id, Channel: "WEBSITE", Kind: "PURCHASE",
				OccurTime: now.AddDate(0, 0, -rng.IntN(400)), Amount: fmt.Sprint(10 * (1 + rng.IntN(30))), Currency: "CNY"}
			later = append(later, pending{insight.SourceInteraction, insight.Event{Record: r}})
		}
		if rng.IntN(4) == 0 {
			tk := &insight.Ticket{ID: uuid.NewString(), CustomerID: id, Type: "COMPLAINT", Status: "OPEN", CreateTime: now.AddDate(0, 0, -rng.IntN(120))}
			later = append(later, pending{insight.SourceServiceDesk, insight.Event{Ticket: tk}})
			later = append(later, pending{insight.SourceServiceDesk, insight.Event{Answer: &insight.Answer{
				SurveyID: uuid.NewString(), TicketID: tk.ID, CustomerID: id, Kind: "CSAT", Score: 1 + rng.IntN(5), AnswerTime: now}}})
		}
	}
	// Half the history, a scoring pass, then the rest incrementally.
	half := len(later) / 2
	for _, p := range later[:half] {
		apply(p.source, p.ev)
	}
	if _, _, err := e.app.svc.RecomputeAll(ctx); err != nil {
		t.Fatal(err)
	}
	for _, p := range later[half:] {
		apply(p.source, p.ev)
	}
	changes, err := e.app.svc.EvaluateAll(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if changes != 0 {
		t.Errorf("a full evaluation changed %d memberships the incremental path had left", changes)
	}
	// The whole-model pass reads everyone's facts set-based; the
	// per-customer path, by customer: both must say the same of everyone.
	var differ int
	var example string
	if err := e.readModel(t).QueryRow(ctx, `
		WITH one AS (SELECT * FROM customer_facts EXCEPT ALL SELECT * FROM customer_facts_all),
		     other AS (SELECT * FROM customer_facts_all EXCEPT ALL SELECT * FROM customer_facts)
		SELECT (SELECT count(*) FROM one) + (SELECT count(*) FROM other), coalesce((SELECT min(one::text) FROM one), '')`).Scan(&differ, &example); err != nil {
		t.Fatal(err)
	}
	if differ != 0 {
		t.Errorf("customer_facts_all differs from customer_facts in %d rows, e.g. %s", differ, example)
	}
}

// Two streams' events for the same customers, applied at the same time
// (as the followers do), must leave the memberships a full evaluation
// finds: each event's re-evaluation sees the other's change. Without the
// per-customer lock, each re-evaluated without the other's uncommitted
// change and customers were left out of the segment.
func TestConcurrentStreamsAgree(t *testing.T) {
	e := start(t, func(c *Config) { c.Follow = false })
	ctx := context.Background()
	if _, err := e.analytics.CreateSegment(testkit.As(t, "mia", auth.RoleManager), &analyticsv1.CreateSegmentRequest{SegmentId: "repeat-complainers",
		Segment: &analyticsv1.Segment{DisplayName: "Repeat complainers", Filter: "lifecycle_stage = REPEAT AND complaints_90d >= 1"}}); err != nil {
		t.Fatal(err)
	}
	const n = 60
	ids := make([]string, n)
	for i := range ids {
		ids[i] = uuid.NewString()
		if err := e.app.svc.Apply(ctx, insight.SourceCustomer, insight.Event{Sequence: int64(i + 1),
			Customer: &insight.Customer{ID: ids[i], DisplayName: "c", Stage: "PROSPECT"}}); err != nil {
			t.Fatal(err)
		}
	}
	// Both streams start each customer's event together.
	together := make([]sync.WaitGroup, n)
	for i := range together {
		together[i].Add(2)
	}
	var wg sync.WaitGroup
	errs := make(chan error, 2*n)
	wg.Go(func() {
		for i, id := range ids {
			together[i].Done()
			together[i].Wait()
			if err := e.app.svc.Apply(ctx, insight.SourceCustomer, insight.Event{Sequence: int64(n + i + 1),
				Customer: &insight.Customer{ID: id, DisplayName: "c", Stage: "REPEAT"}}); err != nil {
				errs <- err
			}
		}
	})
	wg.Go(func() {
		for i, id := range ids {
			together[i].Done()
			together[i].Wait()
			if err := e.app.svc.Apply(ctx, insight.SourceServiceDesk, insight.Event{Sequence: int64(i + 1),
				Ticket: &insight.Ticket{ID: uuid.NewString(), CustomerID: id, Type: "COMPLAINT", Status: "OPEN", CreateTime: time.Now()}}); err != nil {
				errs <- err
			}
		}
	})
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	changes, err := e.app.svc.EvaluateAll(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if changes != 0 {
		t.Errorf("a full evaluation changed %d memberships the events left wrong", changes)
	}
}
