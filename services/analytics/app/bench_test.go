package app

import (
	"context"
	"fmt"
	"net"
	"slices"
	"sync"
	"testing"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/metadata"

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
