package app

import (
	"context"
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
	"google.golang.org/protobuf/types/known/timestamppb"

	analyticsv1 "github.com/kehu-crm/kehu/pkg/api/kehu/analytics/v1"
	"github.com/kehu-crm/kehu/pkg/auth"
	"github.com/kehu-crm/kehu/pkg/testkit"
	"github.com/kehu-crm/kehu/services/analytics/internal/insight"
)

// world is a generated base (or what the events of
// TestRollupsFollowTheirBatches said) as plain Go values: the independent
// account the journey map, the funnel and cohort retention must agree
// with.
type world struct {
	customers map[string]*insight.Customer
	records   map[string]*worldRecord
	moves     map[string][]move // customer → stage changes
}

func newWorld() *world {
	return &world{customers: map[string]*insight.Customer{}, records: map[string]*worldRecord{}, moves: map[string][]move{}}
}

type worldRecord struct {
	insight.Record
	mergedFrom string
}

type move struct {
	stage string
	at    time.Time
}

var movesOn = map[string][]string{"PROSPECT": {"FIRST_PURCHASE", "REPEAT", "LOYAL"}, "FIRST_PURCHASE": {"REPEAT", "LOYAL"}, "REPEAT": {"LOYAL"},
	"AT_RISK": {"REPEAT", "LOYAL"}, "CHURNED": {"FIRST_PURCHASE", "REPEAT", "LOYAL"}}

// live reports whether a customer counts for a scope (keep, on managers).
func (w *world) live(id string, keep func(string) bool) bool {
	c := w.customers[id]
	return c != nil && !c.Deleted && keep(c.AccountManager)
}

// sortedMoves are a customer's stage changes in the order the funnel
// takes them (time, then stage).
func (w *world) sortedMoves(id string) []move {
	ms := slices.Clone(w.moves[id])
	slices.SortFunc(ms, func(a, b move) int {
		if c := a.at.Compare(b.at); c != 0 {
			return c
		}
		return strings.Compare(a.stage, b.stage)
	})
	return ms
}

// medianSeconds is the median of xs (the mean of the middle two).
func medianSeconds(xs []float64) float64 {
	if len(xs) == 0 {
		return 0
	}
	sort.Float64s(xs)
	return (xs[(len(xs)-1)/2] + xs[len(xs)/2]) / 2
}

type journeyWant struct {
	interactions, complaints, rated, ratingSum int
	first                                      map[string]time.Time
	converted                                  int
	median                                     float64
}

// journey computes the journey map of [start, end) for the scope.
func (w *world) journey(start, end time.Time, keep func(string) bool) map[string]*journeyWant {
	out := map[string]*journeyWant{}
	for _, r := range w.records {
		if r.Deleted || r.Touchpoint == "" || r.Stage == "" || r.OccurTime.Before(start) || !r.OccurTime.Before(end) || !w.live(r.CustomerID, keep) {
			continue
		}
		k := r.Stage + "/" + r.Touchpoint
		if out[k] == nil {
			out[k] = &journeyWant{first: map[string]time.Time{}}
		}
		c := out[k]
		c.interactions++
		if r.Kind == "COMPLAINT_MENTION" {
			c.complaints++
		}
		if r.Satisfaction >= 1 && r.Satisfaction <= 5 {
			c.rated++
			c.ratingSum += r.Satisfaction
		}
		if f, ok := c.first[r.CustomerID]; !ok || r.OccurTime.Before(f) {
			c.first[r.CustomerID] = r.OccurTime
		}
	}
	for k, c := range out {
		stage, _, _ := strings.Cut(k, "/")
		var waits []float64
		for id, first := range c.first {
			var moved time.Time
			for _, m := range w.moves[id] {
				if slices.Contains(movesOn[stage], m.stage) && m.at.After(first) && m.at.Before(end) && (moved.IsZero() || m.at.Before(moved)) {
					moved = m.at
				}
			}
			if !moved.IsZero() {
				waits = append(waits, moved.Sub(first).Seconds())
			}
		}
		c.converted, c.median = len(waits), medianSeconds(waits)
	}
	return out
}

type funnelWant struct {
	entered, converted int64
	median             float64
}

// funnel computes a stage's flow over [ps, pe) and the customers in each
// stage at end.
func (w *world) funnel(ps, pe time.Time, keep func(string) bool) (map[string]funnelWant, map[string]int64) {
	flows, atEnd := map[string]funnelWant{}, map[string]int64{}
	stays := map[string][]float64{}
	for id := range w.moves {
		if !w.live(id, keep) {
			continue
		}
		ms := w.sortedMoves(id)
		last := ""
		for i, m := range ms {
			if m.at.Before(pe) {
				last = m.stage
			}
			if m.at.Before(ps) || !m.at.Before(pe) {
				continue
			}
			f := flows[m.stage]
			f.entered++
			for _, n := range ms[i+1:] {
				if n.at.After(m.at) && n.at.Before(pe) && slices.Contains(movesOn[m.stage], n.stage) {
					f.converted++
					break
				}
			}
			flows[m.stage] = f
			if i+1 < len(ms) && ms[i+1].at.Before(pe) {
				stays[m.stage] = append(stays[m.stage], ms[i+1].at.Sub(m.at).Seconds())
			}
		}
		if last != "" {
			atEnd[last]++
		}
	}
	for s, f := range flows {
		f.median = medianSeconds(stays[s])
		flows[s] = f
	}
	return flows, atEnd
}

// cohorts computes "YYYY-MM/offset" → customers for cohorts in [start, end).
func (w *world) cohorts(start, end time.Time, keep func(string) bool) map[string]int64 {
	month := func(t time.Time) int { return t.Year()*12 + int(t.Month()) - 1 }
	bought := map[string]map[int]bool{}
	for _, r := range w.records {
		if r.Kind != "PURCHASE" || r.Deleted || r.Currency == "" || !r.OccurTime.Before(end) || !w.live(r.CustomerID, keep) {
			continue
		}
		if bought[r.CustomerID] == nil {
			bought[r.CustomerID] = map[int]bool{}
		}
		bought[r.CustomerID][month(r.OccurTime)] = true
	}
	out := map[string]int64{}
	for _, months := range bought {
		first := math.MaxInt
		for m := range months {
			first = min(first, m)
		}
		if first < month(start) || first >= month(end) {
			continue
		}
		for m := range months {
			out[fmt.Sprintf("%04d-%02d/%d", first/12, first%12+1, m-first)]++
		}
	}
	return out
}

// rollupRows is every row of the three rollups, as text, in key order.
func rollupRows(t *testing.T, conn *pgx.Conn) []string {
	t.Helper()
	var out []string
	for _, table := range []string{"journey_rollup", "funnel_rollup", "cohort_rollup"} {
		rows, err := conn.Query(context.Background(), `SELECT t::text FROM `+table+` t ORDER BY 1`)
		if err != nil {
			t.Fatal(err)
		}
		got, err := pgx.CollectRows(rows, pgx.RowTo[string])
		if err != nil {
			t.Fatal(err)
		}
		for i := range got {
			got[i] = table + " " + got[i]
		}
		out = append(out, got...)
	}
	return out
}

// The rollups follow the events applied in batches (as the followers
// apply them): new customers and their first stages, interactions and
// purchases, stage changes, a change of account manager, interactions
// edited, deleted and moved to another customer, a merge and its unmerge,
// a purge and a deletion.
// After every batch the rollups equal a rebuild from the read model, and
// the three dashboards (for a manager, an agent and a segment, which
// answers from the read model) equal what is computed here from the
// events.
func TestRollupsFollowTheirBatches(t *testing.T) {
	t.Parallel()
	e := start(t, func(c *Config) { c.Follow = false })
	ctx := context.Background()
	conn := e.readModel(t)
	rng := rand.New(rand.NewPCG(21, 22))
	now := time.Now().UTC().Truncate(time.Second)
	stages := []string{"PROSPECT", "FIRST_PURCHASE", "REPEAT", "LOYAL", "AT_RISK", "CHURNED"}
	managers := []string{"", "alice", "bob"}
	w := newWorld()
	seq := map[string]int64{}
	apply := func(source string, events []insight.Event) {
		t.Helper()
		for i := range events {
			seq[source]++
			events[i].Sequence = seq[source]
		}
		if err := e.app.svc.Apply(ctx, source, events...); err != nil {
			t.Fatal(err)
		}
	}
	past := func(days int) time.Time { return now.Add(-time.Duration(rng.IntN(days*24*3600)) * time.Second) }

	var ids []string
	var created []insight.Event
	for i := range 120 {
		c := &insight.Customer{ID: uuid.NewString(), DisplayName: fmt.Sprint("C", i), Stage: stages[rng.IntN(len(stages))],
			AccountManager: managers[rng.IntN(len(managers))], Since: past(420)}
		ids = append(ids, c.ID)
		w.customers[c.ID] = c
		w.moves[c.ID] = append(w.moves[c.ID], move{c.Stage, c.Since})
		created = append(created, insight.Event{Type: insight.EventCustomerCreated, Customer: c})
	}
	newRecord := func(customer string) *insight.Record {
		r := &insight.Record{ID: uuid.NewString(), CustomerID: customer, Channel: "PHONE", OccurTime: past(400),
			Kind: []string{"CONTACT", "PURCHASE", "COMPLAINT_MENTION"}[rng.IntN(3)], Satisfaction: rng.IntN(6),
			Touchpoint: []string{"", "hotline", "store", "live-chat"}[rng.IntN(4)], Stage: stages[rng.IntN(len(stages))]}
		if r.Kind == "PURCHASE" {
			r.Amount, r.Currency = fmt.Sprintf("%d.50", 1+rng.IntN(900)), "CNY"
		}
		return r
	}
	upsert := func(r *insight.Record) insight.Event {
		w.records[r.ID] = &worldRecord{Record: *r, mergedFrom: w.records[r.ID].origin()}
		return insight.Event{Record: r}
	}
	stageChange := func(id string) insight.Event {
		m := move{stages[rng.IntN(len(stages))], past(400)}
		w.moves[id] = append(w.moves[id], m)
		w.customers[id].Stage = m.stage
		return insight.Event{CustomerID: id, Stage: m.stage, StageTime: m.at, Actor: "mia"}
	}
	customerState := func(id string, change func(c *insight.Customer)) insight.Event {
		c := *w.customers[id]
		change(&c)
		w.customers[id] = &c
		return insight.Event{Customer: &c}
	}

	periods := func() [][2]time.Time {
		a, b := wholeMonths(now.AddDate(0, -9, 0), now.AddDate(0, -2, 0))
		c, d := wholeMonths(now.AddDate(0, -11, 0), now)
		return [][2]time.Time{{a, b}, {c, d}}
	}()
	bob := func(m string) bool { return m == "bob" }
	if _, err := e.analytics.CreateSegment(testkit.As(t, "mia", auth.RoleManager), &analyticsv1.CreateSegmentRequest{SegmentId: "bobs",
		Segment: &analyticsv1.Segment{DisplayName: "Bob's", Filter: `account_manager = "bob"`}}); err != nil {
		t.Fatal(err)
	}
	check := func(batch string) {
		t.Helper()
		before := rollupRows(t, conn)
		rebuildRollups(t, conn)
		if after := rollupRows(t, conn); !slices.Equal(before, after) {
			t.Fatalf("after %s the rollups (%d rows) differ from a rebuild (%d rows)", batch, len(before), len(after))
		}
		for _, sc := range []struct {
			name    string
			ctx     context.Context
			segment string
			keep    func(string) bool
		}{
			{"manager", testkit.As(t, "mia", auth.RoleManager), "", func(string) bool { return true }},
			{"agent alice", testkit.As(t, "alice", auth.RoleAgent), "", func(m string) bool { return m == "" || m == "alice" }},
			{"segment of bob's", testkit.As(t, "mia", auth.RoleManager), "segments/bobs", bob},
		} {
			for _, p := range periods {
				checkDashboards(t, e, w, fmt.Sprintf("after %s, %s, %s to %s", batch, sc.name, p[0].Format("2006-01"), p[1].Format("2006-01")),
					sc.ctx, sc.segment, sc.keep, p[0], p[1])
			}
		}
	}

	apply(insight.SourceCustomer, created)
	var records []insight.Event
	for range 900 {
		records = append(records, upsert(newRecord(ids[rng.IntN(len(ids))])))
	}
	apply(insight.SourceInteraction, records[:450])
	apply(insight.SourceInteraction, records[450:])
	check("creating customers and interactions")

	var changes []insight.Event
	for range 150 {
		changes = append(changes, stageChange(ids[rng.IntN(len(ids))]))
	}
	for _, id := range ids[:10] {
		changes = append(changes, customerState(id, func(c *insight.Customer) { c.AccountManager = "carol" }))
	}
	apply(insight.SourceCustomer, changes)
	check("stage and manager changes")

	var edits []insight.Event
	n := 0
	for _, r := range w.records {
		if n++; n > 200 {
			break
		}
		v := r.Record
		switch n % 4 {
		case 0:
			v.Deleted = true
		case 1:
			v.OccurTime = past(400)
		case 2:
			v.Touchpoint, v.Satisfaction = "store", rng.IntN(6)
		case 3:
			v.Stage, v.Kind = stages[rng.IntN(len(stages))], "COMPLAINT_MENTION"
			if n%8 == 3 {
				// Moved to another customer by the interaction service.
				v.CustomerID = ids[rng.IntN(len(ids))]
			}
		}
		edits = append(edits, upsert(&v))
	}
	apply(insight.SourceInteraction, edits)
	check("interaction edits and deletions")

	survivor, merged := ids[20], []string{ids[21], ids[22]}
	for _, r := range w.records {
		if slices.Contains(merged, r.CustomerID) {
			if r.mergedFrom == "" {
				r.mergedFrom = r.CustomerID
			}
			r.CustomerID = survivor
		}
	}
	apply(insight.SourceCustomer, []insight.Event{{Type: insight.EventCustomerMerged, SurvivorID: survivor, MergedIDs: merged},
		customerState(merged[0], func(c *insight.Customer) { c.Deleted = true }),
		customerState(merged[1], func(c *insight.Customer) { c.Deleted = true })})
	check("a merge")

	for _, r := range w.records {
		if r.CustomerID == survivor && r.mergedFrom == merged[0] {
			r.CustomerID, r.mergedFrom = merged[0], ""
		}
	}
	apply(insight.SourceCustomer, []insight.Event{{Type: insight.EventCustomerUnmerged, SurvivorID: survivor, RestoredID: merged[0]},
		customerState(merged[0], func(c *insight.Customer) { c.Deleted = false })})
	check("an unmerge")

	purged := ids[30]
	for id, r := range w.records {
		if r.CustomerID == purged {
			delete(w.records, id)
		}
	}
	delete(w.moves, purged)
	delete(w.customers, purged)
	apply(insight.SourceCustomer, []insight.Event{{Type: insight.EventCustomerPurged, CustomerID: purged},
		customerState(ids[31], func(c *insight.Customer) { c.Deleted = true })})
	check("a purge and a deletion")
}

// origin is where a merge moved the record from ("" if never).
func (r *worldRecord) origin() string {
	if r == nil {
		return ""
	}
	return r.mergedFrom
}

// checkDashboards compares the three dashboards over [start, end) with the
// world's.
func checkDashboards(t *testing.T, e *env, w *world, what string, ctx context.Context, segment string, keep func(string) bool, start, end time.Time) {
	t.Helper()
	checkJourney(t, e, w, what, ctx, segment, keep, start, end)
	checkFunnel(t, e, w, what, ctx, segment, keep, start, end)
	checkCohorts(t, e, w, what, ctx, segment, keep, start, end)
}

// checkJourney compares the journey map over [start, end) with the
// world's.
func checkJourney(t *testing.T, e *env, w *world, what string, ctx context.Context, segment string, keep func(string) bool, start, end time.Time) {
	t.Helper()
	jm, err := e.analytics.GetJourneyMap(ctx, &analyticsv1.GetJourneyMapRequest{StartTime: timestamppb.New(start), EndTime: timestamppb.New(end), Segment: segment})
	if err != nil {
		t.Fatal(err)
	}
	want := w.journey(start, end, keep)
	if len(jm.GetJourneyMap().GetCells()) != len(want) || len(want) == 0 {
		t.Errorf("%s: %d journey cells, want %d", what, len(jm.GetJourneyMap().GetCells()), len(want))
	}
	for _, c := range jm.GetJourneyMap().GetCells() {
		k := c.GetStage() + "/" + strings.TrimPrefix(c.GetTouchpoint(), "touchpoints/")
		x := want[k]
		if x == nil {
			t.Errorf("%s: unexpected cell %s", what, k)
			continue
		}
		satisfaction := 0.0
		if x.rated > 0 {
			satisfaction = float64(x.ratingSum) / float64(x.rated)
		}
		if c.GetInteractions() != int64(x.interactions) || c.GetCustomers() != int64(len(x.first)) || c.GetConverted() != int64(x.converted) ||
			math.Abs(c.GetMedianTimeToConvert().AsDuration().Seconds()-x.median) > 1e-3 || !near(c.GetAverageSatisfaction(), satisfaction) ||
			!near(c.GetComplaintPercent(), 100*float64(x.complaints)/float64(x.interactions)) {
			t.Errorf("%s: journey cell %s: %v; want %d interactions, %d customers, %d converted, median %vs, satisfaction %v, %d complaints",
				what, k, c, x.interactions, len(x.first), x.converted, x.median, satisfaction, x.complaints)
		}
	}
}

// checkFunnel compares the lifecycle funnel over [start, end) and the
// period before with the world's.
func checkFunnel(t *testing.T, e *env, w *world, what string, ctx context.Context, segment string, keep func(string) bool, start, end time.Time) {
	t.Helper()
	fu, err := e.analytics.GetLifecycleFunnel(ctx, &analyticsv1.GetLifecycleFunnelRequest{StartTime: timestamppb.New(start), EndTime: timestamppb.New(end), Segment: segment})
	if err != nil {
		t.Fatal(err)
	}
	months := (end.Year()-start.Year())*12 + int(end.Month()) - int(start.Month())
	previous := start.AddDate(0, -months, 0)
	if !fu.GetLifecycleFunnel().GetPreviousStartTime().AsTime().Equal(previous) {
		t.Errorf("%s: previous period from %s, want %s", what, fu.GetLifecycleFunnel().GetPreviousStartTime().AsTime(), previous)
	}
	current, atEnd := w.funnel(start, end, keep)
	before, _ := w.funnel(previous, start, keep)
	for _, st := range fu.GetLifecycleFunnel().GetStages() {
		if st.GetCustomersAtEnd() != atEnd[st.GetStage()] {
			t.Errorf("%s: funnel %s: %d at the end, want %d", what, st.GetStage(), st.GetCustomersAtEnd(), atEnd[st.GetStage()])
		}
		for _, p := range []struct {
			name string
			got  *analyticsv1.FunnelFlow
			want funnelWant
		}{{"current", st.GetCurrent(), current[st.GetStage()]}, {"previous", st.GetPrevious(), before[st.GetStage()]}} {
			if p.got.GetEntered() != p.want.entered || p.got.GetConverted() != p.want.converted ||
				math.Abs(p.got.GetMedianTimeInStage().AsDuration().Seconds()-p.want.median) > 1e-3 {
				t.Errorf("%s: funnel %s %s: %v, want %+v", what, st.GetStage(), p.name, p.got, p.want)
			}
		}
	}
}

// checkCohorts compares cohort retention over [start, end) with the
// world's.
func checkCohorts(t *testing.T, e *env, w *world, what string, ctx context.Context, segment string, keep func(string) bool, start, end time.Time) {
	t.Helper()
	co, err := e.analytics.GetCohortRetention(ctx, &analyticsv1.GetCohortRetentionRequest{StartTime: timestamppb.New(start), EndTime: timestamppb.New(end), Segment: segment})
	if err != nil {
		t.Fatal(err)
	}
	wantCohorts, n := w.cohorts(start, end, keep), 0
	for _, c := range co.GetCohortRetention().GetCohorts() {
		for _, m := range c.GetMonths() {
			n++
			k := fmt.Sprintf("%s/%d", c.GetMonth(), m.GetOffset())
			if m.GetCustomers() != wantCohorts[k] || !near(m.GetPercent(), 100*float64(m.GetCustomers())/float64(c.GetCustomers())) {
				t.Errorf("%s: cohort %s: %d customers (%v %%), want %d", what, k, m.GetCustomers(), m.GetPercent(), wantCohorts[k])
			}
		}
		if c.GetMonths()[0].GetOffset() != 0 || c.GetMonths()[0].GetPercent() != 100 {
			t.Errorf("%s: cohort %s does not start at 100 %%: %v", what, c.GetMonth(), c.GetMonths()[0])
		}
	}
	if n != len(wantCohorts) || n == 0 {
		t.Errorf("%s: %d cohort months, want %d", what, n, len(wantCohorts))
	}
}
