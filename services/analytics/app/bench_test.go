package app

import (
	"context"
	"fmt"
	"math"
	"math/rand/v2"
	"net"
	"os"
	"slices"
	"strconv"
	"sync"
	"testing"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/metadata"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
	analyticsv1 "github.com/kehu-crm/kehu/pkg/api/kehu/analytics/v1"
	"github.com/kehu-crm/kehu/pkg/auth"
	"github.com/kehu-crm/kehu/pkg/testkit"
)

// bareServer answers GetCustomerSegments with a constant: the ceiling a
// gRPC service can reach on this machine, against which the cached lookup
// is judged.
type bareServer struct {
	analyticsv1.UnimplementedAnalyticsServiceServer
}

func (bareServer) GetCustomerSegments(context.Context, *analyticsv1.GetCustomerSegmentsRequest) (*analyticsv1.GetCustomerSegmentsResponse, error) {
	return &analyticsv1.GetCustomerSegmentsResponse{Segments: []string{"segments/high-value", "segments/repeat"}}, nil
}

func startBare(b *testing.B) string {
	lis, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		b.Fatal(err)
	}
	srv := grpc.NewServer()
	analyticsv1.RegisterAnalyticsServiceServer(srv, bareServer{})
	go func() { _ = srv.Serve(lis) }()
	b.Cleanup(srv.Stop)
	return lis.Addr().String()
}

// loadResult is one load run: calls per second and latency percentiles.
type loadResult struct {
	rps      float64
	p50, p99 time.Duration
}

// load calls GetCustomerSegments from concurrency goroutines over a few
// connections for d, cycling through customers.
func load(b *testing.B, addr string, customers []string, d time.Duration) loadResult {
	const concurrency, conns = 50, 4
	ctx := metadata.AppendToOutgoingContext(context.Background(), "authorization", "Bearer "+testkit.Token(b, "crm-web", auth.RoleService))
	clients := make([]analyticsv1.AnalyticsServiceClient, conns)
	for i := range clients {
		clients[i] = analyticsv1.NewAnalyticsServiceClient(testkit.Dial(b, addr))
	}
	// Warm the connections and the caches.
	for _, c := range customers {
		if _, err := clients[0].GetCustomerSegments(ctx, &analyticsv1.GetCustomerSegmentsRequest{Customer: c}); err != nil {
			b.Fatal(err)
		}
	}
	var (
		wg        sync.WaitGroup
		mu        sync.Mutex
		latencies []time.Duration
		failures  int
	)
	deadline := time.Now().Add(d)
	for g := range concurrency {
		wg.Go(func() {
			client := clients[g%conns]
			var mine []time.Duration
			bad := 0
			for i := g; time.Now().Before(deadline); i++ {
				start := time.Now()
				_, err := client.GetCustomerSegments(ctx, &analyticsv1.GetCustomerSegmentsRequest{Customer: customers[i%len(customers)]})
				if err != nil {
					bad++
					continue
				}
				mine = append(mine, time.Since(start))
			}
			mu.Lock()
			latencies = append(latencies, mine...)
			failures += bad
			mu.Unlock()
		})
	}
	wg.Wait()
	if failures > 0 {
		b.Fatalf("%d calls failed", failures)
	}
	slices.Sort(latencies)
	return loadResult{
		rps: float64(len(latencies)) / d.Seconds(),
		p50: latencies[len(latencies)/2], p99: latencies[len(latencies)*99/100],
	}
}

// BenchmarkSegmentLookupVsBare is the hot lookup's speed target: cached
// GetCustomerSegments over gRPC (a service caller, as the other services
// ask; people's calls are rate-limited per caller anyway) against a bare
// grpc-go server answering a constant, measured in interleaved rounds
// because this machine's speed drifts, and reported as the median ratio
// (target ≥ 0.6). The same lookup with the in-process tier off (one Redis
// round trip per call) shows what that tier buys.
func BenchmarkSegmentLookupVsBare(b *testing.B) {
	e := start(b)
	customers := make([]string, 200)
	for i := range customers {
		customers[i] = e.newCustomer(b, fmt.Sprintf("Bench customer %d", i), "")
	}
	mgr := testkit.As(b, "mia", auth.RoleManager)
	testkit.Eventually(b, "analytics knows every customer", func() bool {
		_, err := e.analytics.GetCustomerSegments(mgr, &analyticsv1.GetCustomerSegmentsRequest{Customer: customers[len(customers)-1]})
		return err == nil
	})
	redisOnly := e.replica(b, func(c *Config) { c.LocalCacheTTL = 0 })
	bare := startBare(b)

	const rounds, d = 3, 3 * time.Second
	var ratios, redisRatios []float64
	for round := 1; round <= rounds; round++ {
		// Alternate the order so drift favours neither side.
		var base, kehu, viaRedis loadResult
		if round%2 == 1 {
			base, kehu, viaRedis = load(b, bare, customers, d), load(b, e.app.GRPCAddr(), customers, d), load(b, redisOnly, customers, d)
		} else {
			viaRedis, kehu, base = load(b, redisOnly, customers, d), load(b, e.app.GRPCAddr(), customers, d), load(b, bare, customers, d)
		}
		ratios = append(ratios, kehu.rps/base.rps)
		redisRatios = append(redisRatios, viaRedis.rps/base.rps)
		b.Logf("round %d: bare %.0f rps (p50 %s, p99 %s); cached lookup %.0f rps (p50 %s, p99 %s) = %.2f×; Redis only %.0f rps (p99 %s) = %.2f×",
			round, base.rps, base.p50, base.p99, kehu.rps, kehu.p50, kehu.p99, kehu.rps/base.rps, viaRedis.rps, viaRedis.p99, viaRedis.rps/base.rps)
	}
	slices.Sort(ratios)
	slices.Sort(redisRatios)
	b.ReportMetric(ratios[len(ratios)/2], "ratio-to-bare")
	b.ReportMetric(redisRatios[len(redisRatios)/2], "redis-only-ratio-to-bare")
	b.ReportMetric(0, "ns/op") // the ratio is the result, not the time per iteration
}

// BenchmarkDashboards loads a generated base straight into the read model
// (KEHU_BENCH_CUSTOMERS customers, default 100,000, with ten interactions
// each: purchases, contacts at touchpoints, complaints; tickets, survey
// answers, follow-ups and stage changes), rebuilds the dashboards' rollups
// and reports the rebuild's time and each dashboard's over the last 12
// months, the best of three runs.
func BenchmarkDashboards(b *testing.B) {
	customers := 100_000
	if v, err := strconv.Atoi(os.Getenv("KEHU_BENCH_CUSTOMERS")); err == nil && v > 0 {
		customers = v
	}
	// Connections live as long as the slowest dashboard (the tests' minute
	// would cut a slow one off instead of timing it).
	e := start(b, func(c *Config) { c.Follow, c.MaxConnectionAge = false, time.Hour })
	ctx := context.Background()
	conn := e.readModel(b)
	rng := rand.New(rand.NewPCG(1, 2))
	now := time.Now().UTC()
	stages := []string{"PROSPECT", "FIRST_PURCHASE", "REPEAT", "LOYAL", "AT_RISK", "CHURNED"}
	touchpoints := []string{"trade-show", "hotline", "online-store", "live-chat", "wechat", "store"}
	copyIn := func(table string, cols []string, n int, row func(i int) []any) {
		b.Helper()
		if _, err := conn.CopyFrom(ctx, pgx.Identifier{table}, cols, pgx.CopyFromSlice(n, func(i int) ([]any, error) { return row(i), nil })); err != nil {
			b.Fatal(err)
		}
	}
	ids := make([]string, customers)
	for i := range ids {
		ids[i] = uuid.NewString()
	}
	loadStart := time.Now()
	copyIn("customers", []string{"id", "display_name", "account_manager", "lifecycle_stage"}, customers, func(i int) []any {
		return []any{ids[i], fmt.Sprint("C", i), []string{"", "alice", "bob", "carol"}[i%4], stages[i%len(stages)]}
	})
	copyIn("records", []string{"id", "customer_id", "channel", "kind", "occur_time", "amount", "currency_code", "satisfaction", "touchpoint", "stage"}, 10*customers, func(i int) []any {
		kind, amount, currency := []string{"PURCHASE", "CONTACT", "CONTACT", "COMPLAINT_MENTION"}[rng.IntN(4)], any(nil), ""
		if kind == "PURCHASE" {
			amount, currency = fmt.Sprintf("%d.%02d", 10+rng.IntN(5000), rng.IntN(100)), "CNY"
		}
		return []any{uuid.New(), ids[i/10], "WEBSITE", kind, now.Add(-time.Duration(rng.IntN(500*24)) * time.Hour), amount, currency,
			rng.IntN(6), touchpoints[rng.IntN(len(touchpoints))], stages[rng.IntN(len(stages))]}
	})
	copyIn("tickets", []string{"id", "customer_id", "type", "status", "create_time", "resolve_time", "queue", "first_response_time", "first_response_sla", "resolution_sla"}, customers/2, func(i int) []any {
		created := now.Add(-time.Duration(rng.IntN(400*24)) * time.Hour)
		fr, res := created.Add(time.Hour), created.Add(30*time.Hour)
		return []any{uuid.New(), ids[rng.IntN(customers)], []string{"INQUIRY", "COMPLAINT"}[rng.IntN(2)], "RESOLVED", created, res, []string{"support", "vip"}[rng.IntN(2)], fr,
			[]string{"MET", "BREACHED"}[rng.IntN(2)], []string{"MET", "BREACHED"}[rng.IntN(2)]}
	})
	copyIn("follow_ups", []string{"id", "customer_id", "assignee", "care_rule", "state", "due_time"}, customers, func(i int) []any {
		return []any{uuid.New(), ids[i], []string{"alice", "bob", "carol"}[i%3], []string{"", "vip-birthday"}[i%2],
			[]string{"PLANNED", "COMPLETED", "MISSED"}[rng.IntN(3)], now.Add(time.Duration(rng.IntN(400*24)-300*24) * time.Hour)}
	})
	copyIn("stage_transitions", []string{"customer_id", "stage", "at"}, 2*customers, func(i int) []any {
		return []any{ids[i/2], stages[rng.IntN(len(stages))], now.Add(-time.Duration(rng.IntN(500*24*60)+i%2) * time.Minute)}
	})
	if _, err := conn.Exec(ctx, "ANALYZE"); err != nil {
		b.Fatal(err)
	}
	b.Logf("loaded %d customers and %d interactions in %s", customers, 10*customers, time.Since(loadStart).Round(time.Second))
	// The rollups of the journey map, the funnel and cohort retention, as
	// the migration builds them for a read model loaded before it.
	t0 := time.Now()
	if _, err := conn.Exec(ctx, "SELECT rollups_rebuild()"); err != nil {
		b.Fatal(err)
	}
	b.Logf("rollups rebuilt in %s", time.Since(t0).Round(time.Millisecond))
	b.ReportMetric(float64(time.Since(t0).Milliseconds()), "rollups-rebuild-ms")
	if _, err := conn.Exec(ctx, "ANALYZE journey_rollup, funnel_rollup, cohort_rollup"); err != nil {
		b.Fatal(err)
	}
	// Each call has its own deadline: one slow dashboard must not eat the
	// others' time, nor end the run before the others are measured.
	token := "Bearer " + testkit.Token(b, "mia", auth.RoleManager)
	var mgr context.Context
	for _, d := range []struct {
		name string
		call func() error
	}{
		{"journey-map", func() error {
			_, err := e.analytics.GetJourneyMap(mgr, &analyticsv1.GetJourneyMapRequest{})
			return err
		}},
		{"lifecycle-funnel", func() error {
			_, err := e.analytics.GetLifecycleFunnel(mgr, &analyticsv1.GetLifecycleFunnelRequest{})
			return err
		}},
		{"value-distribution", func() error {
			_, err := e.analytics.GetValueDistribution(mgr, &analyticsv1.GetValueDistributionRequest{})
			return err
		}},
		{"rfm-grid", func() error { _, err := e.analytics.GetRfmGrid(mgr, &analyticsv1.GetRfmGridRequest{}); return err }},
		{"service-kpis", func() error {
			_, err := e.analytics.GetServiceKpis(mgr, &analyticsv1.GetServiceKpisRequest{})
			return err
		}},
		{"cohort-retention", func() error {
			_, err := e.analytics.GetCohortRetention(mgr, &analyticsv1.GetCohortRetentionRequest{})
			return err
		}},
		{"care-and-follow-up", func() error {
			_, err := e.analytics.GetCareAndFollowUp(mgr, &analyticsv1.GetCareAndFollowUpRequest{})
			return err
		}},
	} {
		best := time.Duration(math.MaxInt64)
		// Best of three, or the one run when it takes seconds.
		for run := 0; run < 3 && best > 5*time.Second; run++ {
			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
			mgr = metadata.AppendToOutgoingContext(ctx, "authorization", token)
			t0 := time.Now()
			err := d.call()
			cancel()
			if err != nil {
				b.Errorf("%s: %v after %s", d.name, err, time.Since(t0))
				break
			}
			best = min(best, time.Since(t0))
		}
		if best < time.Duration(math.MaxInt64) {
			b.Logf("%s: %s", d.name, best)
			b.ReportMetric(float64(best.Milliseconds()), d.name+"-ms")
		}
	}
	// Then the scoring pass over everyone (RFM, ABC, churn, every
	// segment), once: the target is 60 s at this size.
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Minute)
	defer cancel()
	admin := metadata.AppendToOutgoingContext(ctx, "authorization", "Bearer "+testkit.Token(b, "root", auth.RoleAdmin))
	t0 = time.Now()
	if _, err := e.analytics.RecomputeAll(admin, &analyticsv1.RecomputeAllRequest{}); err != nil {
		b.Errorf("RecomputeAll: %v after %s", err, time.Since(t0))
	} else {
		b.Logf("RecomputeAll: %s", time.Since(t0))
		b.ReportMetric(float64(time.Since(t0).Milliseconds()), "recompute-all-ms")
	}
	b.ReportMetric(0, "ns/op")
}
