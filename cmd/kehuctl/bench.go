package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/redis/go-redis/v9"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/metadata"

	"github.com/kehu-crm/kehu/cmd/kehuctl/internal/servers"
	analyticsv1 "github.com/kehu-crm/kehu/pkg/api/kehu/analytics/v1"
	customerv1 "github.com/kehu-crm/kehu/pkg/api/kehu/customer/v1"
	"github.com/kehu-crm/kehu/pkg/auth"
)

// benchDatabase is the database `kehuctl bench` recreates for each run.
const benchDatabase = "kehu_bench"

// benchOptions shape a run: ~10 minutes by default, about two with --quick.
type benchOptions struct {
	customers   int
	rounds      int
	duration    time.Duration
	concurrency int
	out         string
	scale       int
}

// runBench measures Kehu against the limits of this machine and against
// PocketBase, in interleaved rounds (this machine's speed drifts), and
// prints the table (also written to --out).
func runBench(ctx context.Context, args []string) error {
	fs := flag.NewFlagSet("bench", flag.ContinueOnError)
	quick := fs.Bool("quick", false, "a short run: 20,000 customers, 2 rounds of 3 s")
	var o benchOptions
	fs.IntVar(&o.customers, "customers", 100_000, "customers to load (Kehu and the peer alike)")
	fs.IntVar(&o.rounds, "rounds", 3, "interleaved rounds per comparison")
	fs.DurationVar(&o.duration, "duration", 10*time.Second, "length of each measured run")
	fs.IntVar(&o.concurrency, "concurrency", 50, "concurrent callers")
	fs.StringVar(&o.out, "out", "docs/benchmarks.md", "where to write the table too (empty: nowhere)")
	fs.IntVar(&o.scale, "scale", 0, "at the end, seed this many more customers (ten interactions each, as kehuctl seed) and time RecomputeAll and each dashboard on them (the targets are for 1000000)")
	if err := fs.Parse(args); err != nil {
		return fmt.Errorf("%w: %v", errUsage, err)
	}
	if *quick {
		o.customers, o.rounds, o.duration = 20_000, 2, 3*time.Second
	}
	env, stopServers, err := servers.Ensure(ctx, stateDir(), logf)
	if err != nil {
		return err
	}
	defer stopServers()
	dbURL, err := freshDatabase(ctx, env.DatabaseURL, benchDatabase)
	if err != nil {
		return err
	}
	if err := migrate(ctx, dbURL); err != nil {
		return err
	}
	b := &bench{opts: o, dbURL: dbURL, customers: benchCustomers(o.customers)}
	defer b.close()
	// A Redis of the bench's own, which it can stop to measure Kehu
	// without its cache (the shared one may serve others).
	if b.redis, err = startRedis(filepath.Join(stateDir(), "bench")); err != nil {
		return err
	}
	b.stops = append(b.stops, b.redis.stop)
	b.redisURL = b.redis.url
	if err := b.run(ctx); err != nil {
		return err
	}
	report := b.report()
	fmt.Print(report)
	if o.out != "" {
		if err := writeReport(o.out, report); err != nil {
			return err
		}
		logf("bench: written to %s", o.out)
	}
	return nil
}

// Markers around the latest run in the report file; what is outside them
// (the history of what was fixed, with profiles) is kept.
const (
	reportStart = "<!-- kehuctl bench: latest run -->"
	reportEnd   = "<!-- kehuctl bench: end of latest run -->"
)

// writeReport puts report between the markers of the file at path.
func writeReport(path, report string) error {
	block := reportStart + "\n" + report + reportEnd + "\n"
	old, err := os.ReadFile(path)
	if err != nil && !os.IsNotExist(err) {
		return err
	}
	content := string(old)
	i, j := strings.Index(content, reportStart), strings.Index(content, reportEnd)
	switch {
	case i >= 0 && j > i:
		content = content[:i] + block + strings.TrimPrefix(content[j+len(reportEnd):], "\n")
	default:
		content = block + content
	}
	return os.WriteFile(path, []byte(content), 0o644)
}

// bench is one run: what it started and what it measured.
type bench struct {
	opts      benchOptions
	dbURL     string
	redisURL  string
	customers []benchCustomer
	redis     *redisProcess
	stops     []func()
	rows      []benchRow
	loads     []benchRow
	notes     []string
	scale     []scaleRow
}

// benchRow is one measured line of the table.
type benchRow struct {
	section, name string
	results       []loadResult
	limitName     string
	limits        []loadResult
	unit          string // "calls/s" or "rows/s"
}

func (b *bench) close() {
	for i := len(b.stops) - 1; i >= 0; i-- {
		b.stops[i]()
	}
}

func (b *bench) run(ctx context.Context) error {
	pool, err := pgxpool.New(ctx, b.dbURL)
	if err != nil {
		return err
	}
	b.stops = append(b.stops, pool.Close)
	rdb := redis.NewClient(mustRedisOptions(b.redisURL))
	b.stops = append(b.stops, func() { _ = rdb.Close() })

	// Bulk loads, each against raw COPY into an unindexed table.
	copyRate, err := rawCopy(ctx, pool, b.customers)
	if err != nil {
		return err
	}
	costs, err := indexCosts(ctx, pool, b.customers, b.opts.rounds)
	if err != nil {
		return err
	}
	b.notes = append(b.notes, indexCostNote(costs, len(b.customers)))
	suite, err := b.startSuite(ctx, false)
	if err != nil {
		return err
	}
	head, err := outboxHead(ctx, pool)
	if err != nil {
		return err
	}
	importStart := time.Now()
	importRate, err := b.importCustomers(ctx)
	if err != nil {
		return err
	}
	// The other services follow the import's events; each follower's lag
	// is the time from the end of the import to its cursor reaching the
	// last of them.
	if err := b.followLag(ctx, pool, head, importStart); err != nil {
		return err
	}
	// Then analytics scores everyone and writes the value tiers back
	// (as its hourly pass would, an UpdateCustomer each); reads are
	// measured once that is done and the suite is idle again.
	if err := b.recompute(ctx, pool); err != nil {
		return err
	}
	start := time.Now()
	if err := waitIdle(ctx, suite.pid, 5*time.Minute); err != nil {
		return err
	}
	logf("bench: the suite settled %s after scoring", time.Since(start).Round(time.Second))
	peer, err := startPocketBase(ctx, filepath.Join(stateDir(), "bench"), "127.0.0.1:18090")
	if err != nil {
		return err
	}
	b.stops = append(b.stops, peer.stop)
	start = time.Now()
	if err := peer.load(ctx, b.customers); err != nil {
		return err
	}
	peerRate := float64(len(b.customers)) / time.Since(start).Seconds()
	b.loads = append(b.loads,
		benchRow{name: "ImportCustomers, new customers (gRPC stream)", results: []loadResult{{rps: importRate}}, limitName: "raw pgx CopyFrom, unindexed table", limits: []loadResult{{rps: copyRate}}, unit: "rows/s"},
		benchRow{name: "PocketBase batch insert (peer)", results: []loadResult{{rps: peerRate}}, limitName: "raw pgx CopyFrom, unindexed table", limits: []loadResult{{rps: copyRate}}, unit: "rows/s"},
	)
	if err := b.resolveIDs(ctx, pool); err != nil {
		return err
	}

	bare, err := b.startBare(ctx)
	if err != nil {
		return err
	}
	token, err := signToken("bench-manager", []auth.Role{auth.RoleManager}, 12*time.Hour)
	if err != nil {
		return err
	}
	grpcConn, err := grpc.NewClient("127.0.0.1:9101", grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		return err
	}
	b.stops = append(b.stops, func() { _ = grpcConn.Close() })
	analyticsConn, err := grpc.NewClient("127.0.0.1:9104", grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		return err
	}
	b.stops = append(b.stops, func() { _ = analyticsConn.Close() })
	bareConn, err := grpc.NewClient(bare.addr, grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		return err
	}
	b.stops = append(b.stops, func() { _ = bareConn.Close() })
	httpClient := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: b.opts.concurrency * 2, MaxConnsPerHost: b.opts.concurrency * 2}}

	// By-id reads go to a working set of the first hotSet customers (in
	// random order), as a CRM's reads do: the day's customers, not every
	// one in turn. The cold row reads all of them uniformly.
	kehuGet := b.restTarget("Kehu REST GET /v1/customers/{id}", suite.pid, httpClient, "Bearer "+token, func(i int) string {
		return "http://127.0.0.1:18080/v1/customers/" + b.hot(i).id
	})
	kehuGetCold := b.restTarget("Kehu REST GET /v1/customers/{id}, uniform over all customers", suite.pid, httpClient, "Bearer "+token, func(i int) string {
		return "http://127.0.0.1:18080/v1/customers/" + b.customers[i%len(b.customers)].id
	})
	// The filter is on a field analytics leaves alone (it rewrites value
	// tiers from purchases, which this data set has none of), 1 in 9
	// customers match, and each side indexes it as it would.
	kehuList := b.restTarget("Kehu REST list, filter company = 华信科技, 20 per page", suite.pid, httpClient, "Bearer "+token, func(int) string {
		return "http://127.0.0.1:18080/v1/customers?pageSize=20&filter=" + url.QueryEscape(`company = "华信科技"`)
	})
	peerGet := b.restTarget("PocketBase GET record", peer.cmd.Process.Pid, httpClient, peer.token, func(i int) string {
		return peer.url + "/api/collections/customers/records/" + b.hot(i).peerID
	})
	peerGetCold := b.restTarget("PocketBase GET record, uniform over all", peer.cmd.Process.Pid, httpClient, peer.token, func(i int) string {
		return peer.url + "/api/collections/customers/records/" + b.customers[i%len(b.customers)].peerID
	})
	peerList := b.restTarget("PocketBase list, same filter, 20 per page, skipTotal", peer.cmd.Process.Pid, httpClient, peer.token, func(int) string {
		return peer.url + "/api/collections/customers/records?perPage=20&skipTotal=1&filter=" + url.QueryEscape("company='华信科技'")
	})
	grpcCtx := metadata.AppendToOutgoingContext(ctx, "authorization", "Bearer "+token)
	kehuGRPC := loadTarget{name: "Kehu gRPC GetCustomer", pid: suite.pid, call: func(_ context.Context, i int) error {
		_, err := customerv1.NewCustomerServiceClient(grpcConn).GetCustomer(grpcCtx, &customerv1.GetCustomerRequest{Name: "customers/" + b.hot(i).id})
		return err
	}}
	bareGRPC := loadTarget{name: "bare grpc-go server returning a constant", pid: bare.pid, call: func(_ context.Context, i int) error {
		_, err := customerv1.NewCustomerServiceClient(bareConn).GetCustomer(grpcCtx, &customerv1.GetCustomerRequest{Name: "customers/" + b.hot(i).id})
		return err
	}}
	segmentsGRPC := loadTarget{name: "Kehu gRPC GetCustomerSegments", pid: suite.pid, call: func(_ context.Context, i int) error {
		_, err := analyticsv1.NewAnalyticsServiceClient(analyticsConn).GetCustomerSegments(grpcCtx, &analyticsv1.GetCustomerSegmentsRequest{Customer: "customers/" + b.hot(i).id})
		return err
	}}
	bareSegments := loadTarget{name: "bare grpc-go server returning a constant", pid: bare.pid, call: func(_ context.Context, i int) error {
		_, err := analyticsv1.NewAnalyticsServiceClient(bareConn).GetCustomerSegments(grpcCtx, &analyticsv1.GetCustomerSegmentsRequest{Customer: "customers/" + b.hot(i).id})
		return err
	}}
	segmentsREST := b.restTarget("Kehu REST GET /v1/customers/{id}/segments", suite.pid, httpClient, "Bearer "+token, func(i int) string {
		return "http://127.0.0.1:18080/v1/customers/" + b.hot(i).id + "/segments"
	})
	pgSelect := loadTarget{name: "raw pgx point select", call: func(ctx context.Context, i int) error {
		var name string
		return pool.QueryRow(ctx, `SELECT display_name FROM customer.customers WHERE id = $1`, b.hot(i).id).Scan(&name)
	}}
	redisGet := loadTarget{name: "raw Redis GET", call: func(ctx context.Context, i int) error {
		return rdb.Get(ctx, "kehu:bench:constant").Err()
	}}
	if err := rdb.Set(ctx, "kehu:bench:constant", strings.Repeat("x", 600), time.Hour).Err(); err != nil {
		return err
	}

	mode := "one process"
	if err := b.compare(ctx, mode, kehuGet, peerGet, "PocketBase GET record"); err != nil {
		return err
	}
	if err := b.compare(ctx, mode, kehuGetCold, peerGetCold, "PocketBase GET record, uniform"); err != nil {
		return err
	}
	if err := b.compare(ctx, mode, kehuList, peerList, "PocketBase skipTotal list"); err != nil {
		return err
	}
	if err := b.compare(ctx, mode, kehuGRPC, bareGRPC, "bare gRPC constant"); err != nil {
		return err
	}
	if err := b.compare(ctx, mode, kehuGet, bareGRPC, "bare gRPC constant"); err != nil {
		return err
	}
	if err := b.compare(ctx, mode, segmentsGRPC, bareSegments, "bare gRPC constant"); err != nil {
		return err
	}
	if err := b.compare(ctx, mode, segmentsREST, bareSegments, "bare gRPC constant"); err != nil {
		return err
	}
	if err := b.compare(ctx, "limits", pgSelect, redisGet, "raw Redis GET"); err != nil {
		return err
	}

	// Redis stopped: every lookup goes to PostgreSQL (the in-process tiers
	// serve only while their invalidations can arrive).
	b.redis.stop()
	mode = "one process, Redis stopped"
	if err := b.compare(ctx, mode, segmentsGRPC, bareSegments, "bare gRPC constant"); err != nil {
		return err
	}
	if err := b.compare(ctx, mode, segmentsREST, bareSegments, "bare gRPC constant"); err != nil {
		return err
	}
	if err := b.compare(ctx, mode, kehuGet, peerGet, "PocketBase GET record"); err != nil {
		return err
	}
	if b.redis, err = startRedisAt(filepath.Join(stateDir(), "bench"), b.redis.port); err != nil {
		return err
	}
	b.stops = append(b.stops, b.redis.stop)

	// The same reads with one process per service.
	suite.stop()
	if _, err := b.startSuite(ctx, true); err != nil {
		return err
	}
	kehuGet.pid, kehuGRPC.pid = 0, 0
	mode = "one process per service"
	if err := b.compare(ctx, mode, kehuGet, peerGet, "PocketBase GET record"); err != nil {
		return err
	}
	if err := b.compare(ctx, mode, kehuGRPC, bareGRPC, "bare gRPC constant"); err != nil {
		return err
	}
	if b.opts.scale > 0 {
		return b.atScale(ctx, pool)
	}
	return nil
}

// hotSet is the size of the working set of by-id reads.
const hotSet = 10_000

// hot is the customer of request i among the working set.
func (b *bench) hot(i int) benchCustomer { return b.customers[i%min(hotSet, len(b.customers))] }

// compare measures a and its limit (or peer) in interleaved rounds,
// alternating which goes first.
func (b *bench) compare(ctx context.Context, section string, a, limit loadTarget, limitName string) error {
	row := benchRow{section: section, name: a.name, limitName: limitName, unit: "calls/s"}
	for round := range b.opts.rounds {
		first, second := a, limit
		if round%2 == 1 {
			first, second = limit, a
		}
		r1, err := runLoad(ctx, first, b.opts.concurrency, b.opts.duration)
		if err != nil {
			return err
		}
		r2, err := runLoad(ctx, second, b.opts.concurrency, b.opts.duration)
		if err != nil {
			return err
		}
		if round%2 == 1 {
			r1, r2 = r2, r1
		}
		row.results, row.limits = append(row.results, r1), append(row.limits, r2)
		logf("bench: %s: %.0f calls/s (p99 %s) vs %s %.0f calls/s (p99 %s): %.2f×", a.name, r1.rps, r1.p99, limitName, r2.rps, r2.p99, r1.rps/r2.rps)
	}
	b.rows = append(b.rows, row)
	return nil
}

// restTarget GETs url(i) with the Authorization header authorization and
// expects 200.
func (b *bench) restTarget(name string, pid int, client *http.Client, authorization string, url func(int) string) loadTarget {
	return loadTarget{name: name, pid: pid, call: func(ctx context.Context, i int) error {
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, url(i), nil)
		if err != nil {
			return err
		}
		req.Header.Set("Authorization", authorization)
		resp, err := client.Do(req)
		if err != nil {
			return err
		}
		_, err = io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			return fmt.Errorf("GET %s: %s", req.URL, resp.Status)
		}
		return err
	}}
}

// benchSuite is the suite under test, run by a child kehuctl.
type benchSuite struct {
	pid  int
	stop func()
}

// startSuite runs `kehuctl dev` (one process, or --split) on the bench
// database with rate limits off (one load generator is one caller) and
// logs at warn (PocketBase's request log is off too).
func (b *bench) startSuite(ctx context.Context, split bool) (*benchSuite, error) {
	exe, err := os.Executable()
	if err != nil {
		return nil, err
	}
	args := []string{"dev", "--http", "127.0.0.1:18080"}
	if split {
		args = append(args, "--split")
	}
	log, err := os.Create(filepath.Join(stateDir(), "bench", "suite.log"))
	if err != nil {
		return nil, err
	}
	cmd := exec.Command(exe, args...)
	cmd.Env = append(os.Environ(), "KEHU_DATABASE_URL="+b.dbURL, "KEHU_REDIS_URL="+b.redisURL,
		"KEHU_RATE_LIMIT=0", "KEHU_LOG_LEVEL=warn")
	cmd.Stdout, cmd.Stderr = log, log
	// Its own process group, so that the services of --split stop with it
	// (all at once) and none outlives the bench.
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := cmd.Start(); err != nil {
		return nil, err
	}
	s := &benchSuite{pid: cmd.Process.Pid}
	s.stop = sync.OnceFunc(func() {
		_ = syscall.Kill(-cmd.Process.Pid, syscall.SIGINT)
		done := make(chan struct{})
		go func() { _ = cmd.Wait(); close(done) }()
		select {
		case <-done:
		case <-time.After(60 * time.Second):
			_ = syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
			<-done
		}
		log.Close()
	})
	b.stops = append(b.stops, s.stop)
	exited := make(chan error, 1)
	if err := waitReady(ctx, "http://127.0.0.1:9280/readyz", exited); err != nil {
		return nil, fmt.Errorf("%w (see %s)", err, log.Name())
	}
	return s, nil
}

// benchAnalytics is a client of the suite's analytics service and an
// admin's token for it, for the calls the bench times (RecomputeAll, the
// dashboards).
func benchAnalytics() (client analyticsv1.AnalyticsServiceClient, token string, closeConn func() error, err error) {
	token, err = signToken("bench-admin", []auth.Role{auth.RoleAdmin}, time.Hour)
	if err != nil {
		return nil, "", nil, err
	}
	conn, err := grpc.NewClient("127.0.0.1:9104", grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		return nil, "", nil, err
	}
	return analyticsv1.NewAnalyticsServiceClient(conn), token, conn.Close, nil
}

// recompute runs analytics' RecomputeAll, noting its time, and waits for
// the value tiers it proposes to be written back to the customer service.
func (b *bench) recompute(ctx context.Context, pool *pgxpool.Pool) error {
	analytics, token, closeConn, err := benchAnalytics()
	if err != nil {
		return err
	}
	defer closeConn()
	callCtx, cancel := context.WithTimeout(metadata.AppendToOutgoingContext(ctx, "authorization", "Bearer "+token), 10*time.Minute)
	defer cancel()
	start := time.Now()
	res, err := analytics.RecomputeAll(callCtx, &analyticsv1.RecomputeAllRequest{})
	if err != nil {
		return fmt.Errorf("RecomputeAll: %w", err)
	}
	took := time.Since(start)
	logf("bench: RecomputeAll scored %d customers in %s", res.GetCustomersScored(), took.Round(time.Millisecond))
	start = time.Now()
	for {
		var pending int64
		if err := pool.QueryRow(ctx, `SELECT count(*) FROM analytics.tier_proposals`).Scan(&pending); err != nil {
			return err
		}
		if pending == 0 {
			break
		}
		if time.Since(start) > 10*time.Minute {
			return fmt.Errorf("%d value tiers still not written back after 10 minutes", pending)
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(250 * time.Millisecond):
		}
	}
	b.notes = append(b.notes, fmt.Sprintf("Analytics RecomputeAll (RFM, ABC and every segment, set-based) scored %d customers in %s; writing the changed value tiers back to the customer service took %s more.",
		res.GetCustomersScored(), took.Round(time.Millisecond), time.Since(start).Round(100*time.Millisecond)))
	return nil
}

// followers are the consumers of the customer service's events, by schema.
var followers = []string{"interaction", "servicedesk", "analytics"}

// outboxHead is the sequence of the customer service's latest event.
func outboxHead(ctx context.Context, pool *pgxpool.Pool) (int64, error) {
	var head int64
	err := pool.QueryRow(ctx, `SELECT coalesce(max(sequence), 0) FROM customer.outbox`).Scan(&head)
	return head, err
}

// followLag waits for every follower to reach the customer outbox's head
// and notes, for each, its lag behind the end of the import, the events
// per second it applied since the import began (from head), and, for one
// that fell behind, the events per second it applied while catching up
// (what it can do, rather than what the import gave it).
func (b *bench) followLag(ctx context.Context, pool *pgxpool.Pool, before int64, importStart time.Time) error {
	importEnd := time.Now()
	head, err := outboxHead(ctx, pool)
	if err != nil {
		return err
	}
	cursor := func(f string) (int64, error) {
		var c int64
		err := pool.QueryRow(ctx, `SELECT coalesce(max(sequence), 0) FROM `+pgx.Identifier{f, "consumer_cursors"}.Sanitize()+` WHERE stream = 'customer'`).Scan(&c)
		return c, err
	}
	atEnd := map[string]int64{}
	for _, f := range followers {
		if atEnd[f], err = cursor(f); err != nil {
			return err
		}
	}
	caught := map[string]time.Duration{}
	deadline := importEnd.Add(10 * time.Minute)
	for len(caught) < len(followers) {
		for _, f := range followers {
			if _, ok := caught[f]; ok {
				continue
			}
			c, err := cursor(f)
			if err != nil {
				return err
			}
			if c >= head {
				caught[f] = time.Since(importEnd)
			}
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("followers still behind the import after 10 minutes: caught up %v", caught)
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(100 * time.Millisecond):
		}
	}
	events := head - before
	var parts []string
	for _, f := range followers {
		rate := float64(events) / (importEnd.Sub(importStart) + caught[f]).Seconds()
		part := fmt.Sprintf("%s %s behind (%.0f events/s", f, caught[f].Round(100*time.Millisecond), rate)
		// Under a second behind it kept up: the import set its pace.
		if behind := head - atEnd[f]; caught[f] >= time.Second && behind > 0 {
			part += fmt.Sprintf("; %.0f events/s catching up the last %d", float64(behind)/caught[f].Seconds(), behind)
		}
		parts = append(parts, part+")")
		logf("bench: %s follower caught up %s after the import: %.0f events/s", f, caught[f].Round(100*time.Millisecond), rate)
	}
	b.notes = append(b.notes, fmt.Sprintf("Event followers of the import's %d customer events, lag after the import ended and events applied per second from its start: %s.", events, strings.Join(parts, ", ")))
	return nil
}

// waitIdle waits until process pid uses under a tenth of a CPU for three
// seconds in a row.
func waitIdle(ctx context.Context, pid int, limit time.Duration) error {
	deadline := time.Now().Add(limit)
	quiet := 0
	for last := cpuTime(pid); quiet < 3; {
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(time.Second):
		}
		now := cpuTime(pid)
		if now-last < 100*time.Millisecond {
			quiet++
		} else {
			quiet = 0
		}
		last = now
		if time.Now().After(deadline) {
			return fmt.Errorf("the suite (pid %d) is still busy after %s", pid, limit)
		}
	}
	return nil
}

// importCustomers loads the customers through ImportCustomers, 1,000 per
// message, and returns rows per second.
func (b *bench) importCustomers(ctx context.Context) (float64, error) {
	token, err := signToken("bench-import", []auth.Role{auth.RoleService}, time.Hour)
	if err != nil {
		return 0, err
	}
	conn, err := grpc.NewClient("127.0.0.1:9101", grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		return 0, err
	}
	defer conn.Close()
	ctx = metadata.AppendToOutgoingContext(ctx, "authorization", "Bearer "+token)
	start := time.Now()
	stream, err := customerv1.NewCustomerServiceClient(conn).ImportCustomers(ctx)
	if err != nil {
		return 0, err
	}
	for i := 0; i < len(b.customers); i += 1000 {
		req := &customerv1.ImportCustomersRequest{}
		for _, c := range b.customers[i:min(i+1000, len(b.customers))] {
			req.Customers = append(req.Customers, c.proto())
		}
		if err := stream.Send(req); err != nil {
			return 0, err
		}
	}
	res, err := stream.CloseAndRecv()
	if err != nil {
		return 0, err
	}
	if res.GetCreatedCount() != int64(len(b.customers)) {
		return 0, fmt.Errorf("import created %d of %d customers: %v", res.GetCreatedCount(), len(b.customers), res.GetErrors())
	}
	rate := float64(len(b.customers)) / time.Since(start).Seconds()
	logf("bench: imported %d customers, %.0f rows/s", len(b.customers), rate)
	return rate, nil
}

// resolveIDs learns the id Kehu gave each imported customer.
func (b *bench) resolveIDs(ctx context.Context, pool *pgxpool.Pool) error {
	rows, err := pool.Query(ctx, `SELECT external_id, id::text FROM customer.customers`)
	if err != nil {
		return err
	}
	ids := map[string]string{}
	var ext, id string
	if _, err := pgx.ForEachRow(rows, []any{&ext, &id}, func() error { ids[ext] = id; return nil }); err != nil {
		return err
	}
	for i := range b.customers {
		if b.customers[i].id = ids[b.customers[i].externalID]; b.customers[i].id == "" {
			return fmt.Errorf("customer %s was not imported", b.customers[i].externalID)
		}
	}
	// Callers ask for customers in no particular order.
	rand.New(rand.NewPCG(7, 7)).Shuffle(len(b.customers), func(i, j int) { b.customers[i], b.customers[j] = b.customers[j], b.customers[i] })
	return nil
}

// rawCopy is the bulk-load limit: pgx CopyFrom of the same rows into an
// unindexed table, in rows per second.
func rawCopy(ctx context.Context, pool *pgxpool.Pool, customers []benchCustomer) (float64, error) {
	if _, err := pool.Exec(ctx, `CREATE UNLOGGED TABLE IF NOT EXISTS public.bench_copy (id uuid, display_name text, emails text[], phones text[], company text, value_tier text, lifecycle_stage text, tags text[], external_id text)`); err != nil {
		return 0, err
	}
	if _, err := pool.Exec(ctx, `TRUNCATE public.bench_copy`); err != nil {
		return 0, err
	}
	start := time.Now()
	n, err := pool.CopyFrom(ctx, pgx.Identifier{"public", "bench_copy"},
		[]string{"id", "display_name", "emails", "phones", "company", "value_tier", "lifecycle_stage", "tags", "external_id"},
		pgx.CopyFromSlice(len(customers), func(i int) ([]any, error) {
			c := customers[i]
			return []any{uuidOf(i), c.name, []string{c.email}, []string{c.phone}, c.company, c.tier, c.stage, c.tags, c.externalID}, nil
		}))
	if err != nil {
		return 0, err
	}
	rate := float64(n) / time.Since(start).Seconds()
	logf("bench: raw CopyFrom %d rows, %.0f rows/s", n, rate)
	return rate, nil
}

func uuidOf(i int) string { return fmt.Sprintf("00000000-0000-4000-8000-%012d", i) }

// freshDatabase drops and recreates db on the server of serverURL.
func freshDatabase(ctx context.Context, serverURL, db string) (string, error) {
	conn, err := pgx.Connect(ctx, serverURL)
	if err != nil {
		return "", err
	}
	defer conn.Close(ctx)
	if _, err := conn.Exec(ctx, "DROP DATABASE IF EXISTS "+pgx.Identifier{db}.Sanitize()+" WITH (FORCE)"); err != nil {
		return "", err
	}
	return ensureDatabase(ctx, serverURL, db)
}

func mustRedisOptions(url string) *redis.Options {
	o, err := redis.ParseURL(url)
	if err != nil {
		return &redis.Options{Addr: "127.0.0.1:6379"}
	}
	return o
}

// freeAddr is a loopback address free a moment ago.
func freeAddr() (string, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", err
	}
	defer l.Close()
	return l.Addr().String(), nil
}

// median is the median of f over rs.
func median(rs []loadResult, f func(loadResult) float64) float64 {
	v := make([]float64, len(rs))
	for i, r := range rs {
		v[i] = f(r)
	}
	slices.Sort(v)
	return v[len(v)/2]
}
