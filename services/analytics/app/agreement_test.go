package app

import (
	"context"
	"fmt"
	"math/rand/v2"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/kehu-crm/kehu/services/analytics/internal/insight"
)

// Segment memberships kept incrementally (each event re-evaluating its
// customer) agree with a full set-based evaluation, on a generated base of
// a thousand customers with purchases, contacts, tickets and surveys
// arriving from three sources in interleaved order.
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
	for i := range 1000 {
		id := uuid.NewString()
		apply(insight.SourceCustomer, insight.Event{Customer: &insight.Customer{ID: id, DisplayName: fmt.Sprint("C", i),
			Stage: stages[rng.IntN(len(stages))], AccountManager: []string{"", "bob", "alice"}[rng.IntN(3)]}})
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
	if len(changes) != 0 {
		t.Errorf("a full evaluation changed %d memberships the incremental path had left, e.g. %+v", len(changes), changes[0])
	}
}
