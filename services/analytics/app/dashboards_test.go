package app

import (
	"context"
	"fmt"
	"math"
	"math/rand/v2"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
	"google.golang.org/grpc/codes"
	"google.golang.org/protobuf/types/known/timestamppb"

	analyticsv1 "github.com/kehu-crm/kehu/pkg/api/kehu/analytics/v1"
	"github.com/kehu-crm/kehu/pkg/auth"
	"github.com/kehu-crm/kehu/pkg/testkit"
	"github.com/kehu-crm/kehu/services/analytics/internal/insight"
)

// generated is a customer base written straight into the read model, with
// its purchases kept for the independent computations below.
type generated struct {
	managers  map[string]string // customer → account manager
	purchases []purchase
}

type purchase struct {
	customer, currency string
	at                 time.Time
	cents              int64
	counts             bool // a live purchase (not a refund, not deleted)
}

func generate(t *testing.T, e *env, seed uint64, customers int, now time.Time) generated {
	t.Helper()
	ctx := context.Background()
	conn := e.readModel(t)
	rng := rand.New(rand.NewPCG(seed, seed+1))
	g := generated{managers: map[string]string{}}
	var rows, records [][]any
	for i := range customers {
		id := uuid.NewString()
		manager := []string{"", "alice", "bob", "carol"}[rng.IntN(4)]
		g.managers[id] = manager
		rows = append(rows, []any{id, fmt.Sprint("C", i), manager})
		for range rng.IntN(7) {
			p := purchase{customer: id, currency: "CNY", at: now.AddDate(0, 0, -rng.IntN(400)), cents: int64(1+rng.IntN(40)) * 2500, counts: true}
			if rng.IntN(8) == 0 {
				p.currency = "USD"
			}
			kind, deleted := "PURCHASE", false
			switch rng.IntN(15) {
			case 0:
				kind, p.counts = "REFUND", false
			case 1:
				deleted, p.counts = true, false
			}
			g.purchases = append(g.purchases, p)
			records = append(records, []any{uuid.NewString(), id, "WEBSITE", kind, p.at, fmt.Sprintf("%d.%02d", p.cents/100, p.cents%100), p.currency, deleted})
		}
	}
	if _, err := conn.CopyFrom(ctx, pgx.Identifier{"customers"}, []string{"id", "display_name", "account_manager"}, pgx.CopyFromRows(rows)); err != nil {
		t.Fatal(err)
	}
	if _, err := conn.CopyFrom(ctx, pgx.Identifier{"records"}, []string{"id", "customer_id", "channel", "kind", "occur_time", "amount", "currency_code", "deleted"},
		pgx.CopyFromRows(records)); err != nil {
		t.Fatal(err)
	}
	rebuildRollups(t, conn)
	return g
}

// decimal writes cents as the API does: exact, without trailing zeros.
func decimal(cents int64) string {
	s := fmt.Sprintf("%d.%02d", cents/100, cents%100)
	return strings.TrimSuffix(strings.TrimRight(s, "0"), ".")
}

// buyersIn sums, per currency and customer, the counted purchases of the
// period of the customers keep accepts.
func (g generated) buyersIn(start, end time.Time, keep func(manager string) bool) map[string]map[string]*struct {
	cents, n int64
	last     time.Time
} {
	out := map[string]map[string]*struct {
		cents, n int64
		last     time.Time
	}{}
	for _, p := range g.purchases {
		if !p.counts || p.at.Before(start) || !p.at.Before(end) || !keep(g.managers[p.customer]) {
			continue
		}
		if out[p.currency] == nil {
			out[p.currency] = map[string]*struct {
				cents, n int64
				last     time.Time
			}{}
		}
		b := out[p.currency][p.customer]
		if b == nil {
			b = &struct {
				cents, n int64
				last     time.Time
			}{}
			out[p.currency][p.customer] = b
		}
		b.cents += p.cents
		b.n++
		if p.at.After(b.last) {
			b.last = p.at
		}
	}
	return out
}

func near(a, b float64) bool { return math.Abs(a-b) < 1e-9 }

// The value distribution and the RFM grid agree with computations done
// here, in Go, over the generated purchases, for a manager (everyone, and
// one account manager's customers) and an agent (their own and the pool).
func TestDashboardsMatchAnIndependentComputation(t *testing.T) {
	t.Parallel()
	e := start(t, func(c *Config) { c.Follow = false })
	now := time.Now().UTC().Truncate(time.Second)
	g := generate(t, e, 42, 600, now)
	start, end := now.AddDate(0, 0, -180), now.Add(time.Second)
	cases := []struct {
		name    string
		ctx     context.Context
		manager string
		keep    func(string) bool
	}{
		{"manager, everyone", testkit.As(t, "mia", auth.RoleManager), "", func(string) bool { return true }},
		{"manager, alice's", testkit.As(t, "mia", auth.RoleManager), "alice", func(m string) bool { return m == "alice" }},
		{"agent bob", testkit.As(t, "bob", auth.RoleAgent), "", func(m string) bool { return m == "" || m == "bob" }},
	}
	for _, c := range cases {
		buyers := g.buyersIn(start, end, c.keep)

		vd, err := e.analytics.GetValueDistribution(c.ctx, &analyticsv1.GetValueDistributionRequest{StartTime: timestamppb.New(start),
			EndTime: timestamppb.New(end), AccountManager: c.manager})
		if err != nil {
			t.Fatalf("%s: %v", c.name, err)
		}
		if len(vd.GetValueDistribution().GetCurrencies()) != len(buyers) {
			t.Fatalf("%s: currencies %d, want %d", c.name, len(vd.GetValueDistribution().GetCurrencies()), len(buyers))
		}
		for _, got := range vd.GetValueDistribution().GetCurrencies() {
			cur := buyers[got.GetCurrencyCode()]
			ids := make([]string, 0, len(cur))
			var total int64
			for id, b := range cur {
				ids = append(ids, id)
				total += b.cents
			}
			sort.Slice(ids, func(i, j int) bool {
				if cur[ids[i]].cents != cur[ids[j]].cents {
					return cur[ids[i]].cents > cur[ids[j]].cents
				}
				return ids[i] < ids[j]
			})
			if got.GetCustomers() != int64(len(ids)) || got.GetRevenue() != decimal(total) {
				t.Errorf("%s %s: %d customers, revenue %s; want %d, %s", c.name, got.GetCurrencyCode(), got.GetCustomers(), got.GetRevenue(), len(ids), decimal(total))
			}
			cum := make([]int64, len(ids)+1)
			tier := map[string]*analyticsv1.TierShare{}
			for i, id := range ids {
				cum[i+1] = cum[i] + cur[id].cents
				share := float64(cum[i]) / float64(total)
				name := map[bool]string{true: "A", false: map[bool]string{true: "B", false: "C"}[share < 0.95]}[share < 0.8]
				if tier[name] == nil {
					tier[name] = &analyticsv1.TierShare{Tier: name}
				}
				tier[name].Customers++
				tier[name].RevenuePercent += float64(cur[id].cents)
			}
			points := min(len(ids), 100)
			if len(got.GetPareto()) != points {
				t.Errorf("%s %s: %d Pareto points, want %d", c.name, got.GetCurrencyCode(), len(got.GetPareto()), points)
				continue
			}
			for k := 1; k <= points; k++ {
				n := int(math.Ceil(float64(k) * float64(len(ids)) / float64(points)))
				p := got.GetPareto()[k-1]
				if !near(p.GetCustomerPercent(), 100*float64(n)/float64(len(ids))) || !near(p.GetRevenuePercent(), 100*float64(cum[n])/float64(total)) {
					t.Errorf("%s %s: Pareto point %d = %v, want (%v, %v)", c.name, got.GetCurrencyCode(), k, p, 100*float64(n)/float64(len(ids)), 100*float64(cum[n])/float64(total))
					break
				}
			}
			for _, gt := range got.GetTiers() {
				want := tier[gt.GetTier()]
				if want == nil || gt.GetCustomers() != want.GetCustomers() || !near(gt.GetRevenuePercent(), 100*want.GetRevenuePercent()/float64(total)) {
					t.Errorf("%s %s: tier %v, want %v", c.name, got.GetCurrencyCode(), gt, want)
				}
				delete(tier, gt.GetTier())
			}
			if len(tier) > 0 {
				t.Errorf("%s %s: tiers missing: %v", c.name, got.GetCurrencyCode(), tier)
			}
		}

		grid, err := e.analytics.GetRfmGrid(c.ctx, &analyticsv1.GetRfmGridRequest{StartTime: timestamppb.New(start), EndTime: timestamppb.New(end), AccountManager: c.manager})
		if err != nil {
			t.Fatalf("%s: %v", c.name, err)
		}
		cny := buyers["CNY"]
		quintile := func(v func(string) float64, id string) int {
			le := 0
			for other := range cny {
				if v(other) <= v(id) {
					le++
				}
			}
			return int(math.Ceil(5 * float64(le) / float64(len(cny))))
		}
		type cell struct{ r, f int }
		want := map[cell]*struct{ n, cents, mscore int64 }{}
		for id, b := range cny {
			k := cell{quintile(func(x string) float64 { return float64(cny[x].last.Unix()) }, id), quintile(func(x string) float64 { return float64(cny[x].n) }, id)}
			if want[k] == nil {
				want[k] = &struct{ n, cents, mscore int64 }{}
			}
			want[k].n++
			want[k].cents += b.cents
			want[k].mscore += int64(quintile(func(x string) float64 { return float64(cny[x].cents) }, id))
		}
		if grid.GetRfmGrid().GetCustomers() != int64(len(cny)) || len(grid.GetRfmGrid().GetCells()) != len(want) {
			t.Errorf("%s: grid of %d customers in %d cells, want %d in %d", c.name, grid.GetRfmGrid().GetCustomers(), len(grid.GetRfmGrid().GetCells()), len(cny), len(want))
		}
		for _, gc := range grid.GetRfmGrid().GetCells() {
			w := want[cell{int(gc.GetRecency()), int(gc.GetFrequency())}]
			if w == nil {
				t.Errorf("%s: unexpected cell %v", c.name, gc)
				continue
			}
			avgCents := (2*w.cents + w.n) / (2 * w.n) // round half up to the cent
			if gc.GetCustomers() != w.n || gc.GetAverageMonetary() != decimal(avgCents) || !near(gc.GetAverageMonetaryScore(), float64(w.mscore)/float64(w.n)) {
				t.Errorf("%s: cell %v, want %d customers, average %s, score %v", c.name, gc, w.n, decimal(avgCents), float64(w.mscore)/float64(w.n))
			}
		}
	}
}

// Dashboards refuse what they cannot answer, naming the field.
func TestDashboardRequestsChecked(t *testing.T) {
	t.Parallel()
	e := start(t, func(c *Config) { c.Follow = false })
	mgr := testkit.As(t, "mia", auth.RoleManager)
	now := time.Now()
	_, err := e.analytics.GetValueDistribution(mgr, &analyticsv1.GetValueDistributionRequest{StartTime: timestamppb.New(now), EndTime: timestamppb.New(now.Add(-time.Hour))})
	testkit.WantCode(t, err, codes.InvalidArgument, "", "start_time")
	_, err = e.analytics.GetRfmGrid(mgr, &analyticsv1.GetRfmGridRequest{CurrencyCode: "YUAN"})
	testkit.WantCode(t, err, codes.InvalidArgument, "", "currency_code")
	_, err = e.analytics.GetRfmGrid(mgr, &analyticsv1.GetRfmGridRequest{Segment: "segments/nope"})
	testkit.WantCode(t, err, codes.NotFound, "", "")
	_, err = e.analytics.GetValueDistribution(testkit.As(t, "ana", auth.RoleAnalyst), &analyticsv1.GetValueDistributionRequest{Segment: "segments/birthdays-this-month"})
	testkit.WantCode(t, err, codes.NotFound, "", "")
	empty, err := e.analytics.GetValueDistribution(mgr, &analyticsv1.GetValueDistributionRequest{Segment: "segments/high-value"})
	if err != nil || len(empty.GetValueDistribution().GetCurrencies()) != 0 {
		t.Errorf("an empty segment's distribution: %v %v", empty, err)
	}
}

// Cohort retention agrees with a computation done here over the generated
// purchases: cohorts by the month of each customer's first purchase ever,
// counted in each later month up to the period's end.
func TestCohortRetentionMatchesAnIndependentComputation(t *testing.T) {
	t.Parallel()
	e := start(t, func(c *Config) { c.Follow = false })
	now := time.Now().UTC().Truncate(time.Second)
	g := generate(t, e, 7, 500, now)
	w := newWorld()
	for id, m := range g.managers {
		w.customers[id] = &insight.Customer{ID: id, AccountManager: m}
	}
	for i, p := range g.purchases {
		// A refund or a deleted purchase counts as neither.
		id := fmt.Sprint(i)
		w.records[id] = &worldRecord{Record: insight.Record{ID: id, CustomerID: p.customer, Kind: "PURCHASE", OccurTime: p.at, Currency: p.currency, Deleted: !p.counts}}
	}
	start, end := wholeMonths(now.AddDate(0, -8, 0), now.AddDate(0, -1, 0))
	checkCohorts(t, e, w, "manager", testkit.As(t, "mia", auth.RoleManager), "", func(string) bool { return true }, start, end)
	checkCohorts(t, e, w, "agent carol", testkit.As(t, "carol", auth.RoleAgent), "", func(m string) bool { return m == "" || m == "carol" }, start, end)
}

// The journey map agrees with a computation done here over generated
// interactions (touchpoint, the customer's stage then, kind, rating) and
// stage changes.
func TestJourneyMapMatchesAnIndependentComputation(t *testing.T) {
	t.Parallel()
	e := start(t, func(c *Config) { c.Follow = false })
	ctx := context.Background()
	conn := e.readModel(t)
	rng := rand.New(rand.NewPCG(99, 100))
	now := time.Now().UTC().Truncate(time.Second)
	stages := []string{"PROSPECT", "FIRST_PURCHASE", "REPEAT", "LOYAL", "AT_RISK", "CHURNED"}
	touchpoints := []string{"trade-show", "hotline", "online-store", "live-chat"}
	w := newWorld()
	var customers, records, transitions [][]any
	for i := range 300 {
		c := &insight.Customer{ID: uuid.NewString(), AccountManager: []string{"", "alice", "bob"}[rng.IntN(3)]}
		w.customers[c.ID] = c
		customers = append(customers, []any{c.ID, fmt.Sprint("C", i), c.AccountManager})
		for range rng.IntN(6) {
			r := insight.Record{ID: uuid.NewString(), CustomerID: c.ID, Stage: stages[rng.IntN(len(stages))], Touchpoint: touchpoints[rng.IntN(len(touchpoints))],
				Kind: []string{"CONTACT", "PURCHASE", "COMPLAINT_MENTION"}[rng.IntN(3)], OccurTime: now.Add(-time.Duration(rng.IntN(300*24)) * time.Hour),
				Satisfaction: rng.IntN(6), Deleted: rng.IntN(20) == 0}
			w.records[r.ID] = &worldRecord{Record: r}
			records = append(records, []any{r.ID, c.ID, "PHONE", r.Kind, r.OccurTime, r.Satisfaction, r.Deleted, r.Touchpoint, r.Stage})
		}
		for range rng.IntN(4) {
			m := move{stages[rng.IntN(len(stages))], now.Add(-time.Duration(rng.IntN(300*24)) * time.Hour)}
			w.moves[c.ID] = append(w.moves[c.ID], m)
			transitions = append(transitions, []any{c.ID, m.stage, m.at})
		}
	}
	if _, err := conn.CopyFrom(ctx, pgx.Identifier{"customers"}, []string{"id", "display_name", "account_manager"}, pgx.CopyFromRows(customers)); err != nil {
		t.Fatal(err)
	}
	if _, err := conn.CopyFrom(ctx, pgx.Identifier{"records"}, []string{"id", "customer_id", "channel", "kind", "occur_time", "satisfaction", "deleted", "touchpoint", "stage"},
		pgx.CopyFromRows(records)); err != nil {
		t.Fatal(err)
	}
	if _, err := conn.CopyFrom(ctx, pgx.Identifier{"stage_transitions"}, []string{"customer_id", "stage", "at"}, pgx.CopyFromRows(transitions)); err != nil {
		t.Fatal(err)
	}
	rebuildRollups(t, conn)
	start, end := wholeMonths(now.AddDate(0, 0, -200), now.AddDate(0, 0, -20))
	checkJourney(t, e, w, "manager", testkit.As(t, "mia", auth.RoleManager), "", func(string) bool { return true }, start, end)
	checkJourney(t, e, w, "agent alice", testkit.As(t, "alice", auth.RoleAgent), "", func(m string) bool { return m == "" || m == "alice" }, start, end)
}

// The service KPIs agree with a computation done here over generated
// tickets and survey answers, per month and queue and for all queues.
func TestServiceKpisMatchAnIndependentComputation(t *testing.T) {
	t.Parallel()
	e := start(t, func(c *Config) { c.Follow = false })
	ctx := context.Background()
	conn := e.readModel(t)
	rng := rand.New(rand.NewPCG(5, 6))
	now := time.Now().UTC().Truncate(time.Second)
	start, end := now.AddDate(0, -5, 0), now
	type ticket struct {
		id, queue, typ, frSLA, resSLA string
		created                       time.Time
		firstResponse, resolved       *time.Time
	}
	type answer struct {
		ticket, kind string
		score        int
		at           time.Time
	}
	var tickets []ticket
	var answers []answer
	var customers, rows, answerRows [][]any
	slas := []string{"", "MET", "BREACHED"}
	for i := range 150 {
		id := uuid.NewString()
		customers = append(customers, []any{id, fmt.Sprint("C", i)})
		for range rng.IntN(4) {
			tk := ticket{id: uuid.NewString(), queue: []string{"", "support", "vip"}[rng.IntN(3)], typ: []string{"INQUIRY", "COMPLAINT"}[rng.IntN(2)],
				frSLA: slas[rng.IntN(3)], resSLA: slas[rng.IntN(3)], created: now.Add(-time.Duration(rng.IntN(200*24*60)) * time.Minute)}
			if rng.IntN(4) > 0 {
				at := tk.created.Add(time.Duration(rng.IntN(48*60)) * time.Minute)
				tk.firstResponse = &at
				if rng.IntN(3) > 0 {
					res := at.Add(time.Duration(rng.IntN(10*24*60)) * time.Minute)
					tk.resolved = &res
					if rng.IntN(2) == 0 {
						kind := []string{"CSAT", "NPS"}[rng.IntN(2)]
						score := 1 + rng.IntN(5)
						if kind == "NPS" {
							score = rng.IntN(11)
						}
						a := answer{tk.id, kind, score, res.Add(time.Duration(rng.IntN(72*60)) * time.Minute)}
						answers = append(answers, a)
						answerRows = append(answerRows, []any{uuid.NewString(), tk.id, id, a.kind, a.score, a.at})
					}
				}
			}
			tickets = append(tickets, tk)
			rows = append(rows, []any{tk.id, id, tk.typ, "OPEN", tk.created, tk.resolved, tk.queue, tk.firstResponse, tk.frSLA, tk.resSLA})
		}
	}
	for _, copy := range []struct {
		table string
		cols  []string
		rows  [][]any
	}{
		{"customers", []string{"id", "display_name"}, customers},
		{"tickets", []string{"id", "customer_id", "type", "status", "create_time", "resolve_time", "queue", "first_response_time", "first_response_sla", "resolution_sla"}, rows},
		{"answers", []string{"survey_id", "ticket_id", "customer_id", "kind", "score", "answer_time"}, answerRows},
	} {
		if _, err := conn.CopyFrom(ctx, pgx.Identifier{copy.table}, copy.cols, pgx.CopyFromRows(copy.rows)); err != nil {
			t.Fatal(err)
		}
	}

	type point struct {
		opened, resolved, met, breached, complaints int64
		fr, res                                     []float64
		csat, nps                                   []int
	}
	want := map[string]*point{}
	add := func(at time.Time, queue string, f func(*point)) {
		if at.Before(start) || !at.Before(end) {
			return
		}
		month := at.Format("2006-01") + "-01"
		for _, q := range []string{"*", queue} {
			if q == "" {
				continue
			}
			k := month + "/" + q
			if want[k] == nil {
				want[k] = &point{}
			}
			f(want[k])
		}
	}
	byID := map[string]ticket{}
	for _, tk := range tickets {
		byID[tk.id] = tk
		add(tk.created, tk.queue, func(p *point) {
			p.opened++
			if tk.typ == "COMPLAINT" {
				p.complaints++
			}
		})
		if tk.firstResponse != nil {
			add(*tk.firstResponse, tk.queue, func(p *point) {
				p.met += map[bool]int64{true: 1}[tk.frSLA == "MET"]
				p.breached += map[bool]int64{true: 1}[tk.frSLA == "BREACHED"]
				p.fr = append(p.fr, tk.firstResponse.Sub(tk.created).Seconds())
			})
		}
		if tk.resolved != nil {
			add(*tk.resolved, tk.queue, func(p *point) {
				p.resolved++
				p.met += map[bool]int64{true: 1}[tk.resSLA == "MET"]
				p.breached += map[bool]int64{true: 1}[tk.resSLA == "BREACHED"]
				p.res = append(p.res, tk.resolved.Sub(tk.created).Seconds())
			})
		}
	}
	for _, a := range answers {
		add(a.at, byID[a.ticket].queue, func(p *point) {
			if a.kind == "CSAT" {
				p.csat = append(p.csat, a.score)
			} else {
				p.nps = append(p.nps, a.score)
			}
		})
	}
	median := func(v []float64) float64 {
		if len(v) == 0 {
			return 0
		}
		sort.Float64s(v)
		return (v[(len(v)-1)/2] + v[len(v)/2]) / 2
	}

	got, err := e.analytics.GetServiceKpis(testkit.As(t, "mia", auth.RoleManager), &analyticsv1.GetServiceKpisRequest{StartTime: timestamppb.New(start), EndTime: timestamppb.New(end)})
	if err != nil {
		t.Fatal(err)
	}
	if len(got.GetServiceKpis().GetPoints()) != len(want) {
		t.Errorf("%d points, want %d", len(got.GetServiceKpis().GetPoints()), len(want))
	}
	for _, gp := range got.GetServiceKpis().GetPoints() {
		q := strings.TrimPrefix(gp.GetQueue(), "queues/")
		if q == "" {
			q = "*"
		}
		w := want[gp.GetBucket()+"/"+q]
		if w == nil {
			t.Errorf("unexpected point %v", gp)
			continue
		}
		compliance := 0.0
		if w.met+w.breached > 0 {
			compliance = 100 * float64(w.met) / float64(w.met+w.breached)
		}
		csat, nps := 0.0, 0.0
		for _, s := range w.csat {
			csat += float64(s) / float64(len(w.csat))
		}
		for _, s := range w.nps {
			switch {
			case s >= 9:
				nps += 100 / float64(len(w.nps))
			case s <= 6:
				nps -= 100 / float64(len(w.nps))
			}
		}
		if gp.GetOpened() != w.opened || gp.GetResolved() != w.resolved || gp.GetSlaMet() != w.met || gp.GetSlaBreached() != w.breached ||
			!near(gp.GetSlaCompliancePercent(), compliance) ||
			math.Abs(gp.GetMedianFirstResponse().AsDuration().Seconds()-median(w.fr)) > 1e-3 ||
			math.Abs(gp.GetMedianResolution().AsDuration().Seconds()-median(w.res)) > 1e-3 ||
			gp.GetCsatAnswers() != int64(len(w.csat)) || math.Abs(gp.GetCsatAverage()-csat) > 1e-9 ||
			gp.GetNpsAnswers() != int64(len(w.nps)) || math.Abs(gp.GetNps()-nps) > 1e-9 ||
			!near(gp.GetComplaintsPerThousandCustomers(), 1000*float64(w.complaints)/150) {
			t.Errorf("point %v; want %+v (compliance %v, csat %v, nps %v)", gp, *w, compliance, csat, nps)
		}
	}
	_, err = e.analytics.GetServiceKpis(testkit.As(t, "mia", auth.RoleManager), &analyticsv1.GetServiceKpisRequest{Granularity: "DAY"})
	testkit.WantCode(t, err, codes.InvalidArgument, "", "granularity")
}

// The lifecycle funnel agrees with a computation done here over generated
// stage changes, for the period and the one before it.
func TestLifecycleFunnelMatchesAnIndependentComputation(t *testing.T) {
	t.Parallel()
	e := start(t, func(c *Config) { c.Follow = false })
	ctx := context.Background()
	conn := e.readModel(t)
	rng := rand.New(rand.NewPCG(11, 12))
	now := time.Now().UTC().Truncate(time.Second)
	stages := []string{"PROSPECT", "FIRST_PURCHASE", "REPEAT", "LOYAL", "AT_RISK", "CHURNED"}
	w := newWorld()
	var customers, transitions [][]any
	for i := range 400 {
		c := &insight.Customer{ID: uuid.NewString(), AccountManager: []string{"", "alice", "bob"}[rng.IntN(3)]}
		w.customers[c.ID] = c
		customers = append(customers, []any{c.ID, fmt.Sprint("C", i), c.AccountManager})
		at := now.Add(-time.Duration(rng.IntN(400*24)) * time.Hour)
		for range 1 + rng.IntN(5) {
			m := move{stages[rng.IntN(len(stages))], at}
			w.moves[c.ID] = append(w.moves[c.ID], m)
			transitions = append(transitions, []any{c.ID, m.stage, m.at})
			at = at.Add(time.Duration(1+rng.IntN(60*24)) * time.Hour)
		}
	}
	if _, err := conn.CopyFrom(ctx, pgx.Identifier{"customers"}, []string{"id", "display_name", "account_manager"}, pgx.CopyFromRows(customers)); err != nil {
		t.Fatal(err)
	}
	if _, err := conn.CopyFrom(ctx, pgx.Identifier{"stage_transitions"}, []string{"customer_id", "stage", "at"}, pgx.CopyFromRows(transitions)); err != nil {
		t.Fatal(err)
	}
	rebuildRollups(t, conn)
	start, end := wholeMonths(now.AddDate(0, 0, -120), now.AddDate(0, 0, -10))
	checkFunnel(t, e, w, "manager", testkit.As(t, "mia", auth.RoleManager), "", func(string) bool { return true }, start, end)
	checkFunnel(t, e, w, "agent bob", testkit.As(t, "bob", auth.RoleAgent), "", func(m string) bool { return m == "" || m == "bob" }, start, end)
}

// The care and follow-up dashboard agrees with a count done here over
// generated follow-ups.
func TestCareAndFollowUpMatchesAnIndependentComputation(t *testing.T) {
	t.Parallel()
	e := start(t, func(c *Config) { c.Follow = false })
	ctx := context.Background()
	conn := e.readModel(t)
	rng := rand.New(rand.NewPCG(21, 22))
	now := time.Now().UTC().Truncate(time.Second)
	start, end := now.AddDate(0, -2, 0), now.AddDate(0, 1, 0)
	type counts struct{ due, completed, missed, cancelled, planned int64 }
	wantAssignees, wantRules := map[string]*counts{}, map[string]*counts{}
	var customers, followUps [][]any
	for i := range 200 {
		id := uuid.NewString()
		customers = append(customers, []any{id, fmt.Sprint("C", i), []string{"", "alice"}[rng.IntN(2)]})
		for range rng.IntN(4) {
			assignee, rule := []string{"alice", "bob", "carol"}[rng.IntN(3)], []string{"", "", "vip-birthday", "mid-autumn"}[rng.IntN(4)]
			state := []string{"PLANNED", "COMPLETED", "MISSED", "CANCELLED"}[rng.IntN(4)]
			due := now.Add(time.Duration(rng.IntN(180*24)-120*24) * time.Hour)
			followUps = append(followUps, []any{uuid.NewString(), id, assignee, rule, state, due})
			if due.Before(start) || !due.Before(end) {
				continue
			}
			for _, m := range []struct {
				into map[string]*counts
				key  string
			}{{wantAssignees, assignee}, {wantRules, rule}} {
				if m.key == "" {
					continue
				}
				if m.into[m.key] == nil {
					m.into[m.key] = &counts{}
				}
				c := m.into[m.key]
				c.due++
				switch state {
				case "PLANNED":
					c.planned++
				case "COMPLETED":
					c.completed++
				case "MISSED":
					c.missed++
				case "CANCELLED":
					c.cancelled++
				}
			}
		}
	}
	if _, err := conn.CopyFrom(ctx, pgx.Identifier{"customers"}, []string{"id", "display_name", "account_manager"}, pgx.CopyFromRows(customers)); err != nil {
		t.Fatal(err)
	}
	if _, err := conn.CopyFrom(ctx, pgx.Identifier{"follow_ups"}, []string{"id", "customer_id", "assignee", "care_rule", "state", "due_time"}, pgx.CopyFromRows(followUps)); err != nil {
		t.Fatal(err)
	}
	got, err := e.analytics.GetCareAndFollowUp(testkit.As(t, "mia", auth.RoleManager), &analyticsv1.GetCareAndFollowUpRequest{StartTime: timestamppb.New(start), EndTime: timestamppb.New(end)})
	if err != nil {
		t.Fatal(err)
	}
	check := func(what string, list []*analyticsv1.FollowUpCounts, want map[string]*counts, prefix string) {
		if len(list) != len(want) {
			t.Errorf("%s: %d rows, want %d", what, len(list), len(want))
		}
		for _, c := range list {
			w := want[strings.TrimPrefix(c.GetKey(), prefix)]
			if w == nil {
				t.Errorf("%s: unexpected %v", what, c)
				continue
			}
			if (counts{c.GetDue(), c.GetCompleted(), c.GetMissed(), c.GetCancelled(), c.GetPlanned()}) != *w ||
				!near(c.GetCompletionPercent(), 100*float64(w.completed)/float64(w.due-w.cancelled)) {
				t.Errorf("%s: %v, want %+v", what, c, *w)
			}
		}
	}
	check("assignees", got.GetCareAndFollowUp().GetAssignees(), wantAssignees, "")
	check("care rules", got.GetCareAndFollowUp().GetCareRules(), wantRules, "careRules/")
}
