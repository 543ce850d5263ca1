package e2e_test

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"log/slog"
	"math/rand/v2"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/kehu-crm/kehu/pkg/auth"
	"github.com/kehu-crm/kehu/pkg/testdb"
	"github.com/kehu-crm/kehu/pkg/testkit"
	customermigrations "github.com/kehu-crm/kehu/services/customer/migrations"
	gatewayapp "github.com/kehu-crm/kehu/services/gateway/app"
)

// replica is one customer-service process, as one pod would run it.
type replica struct {
	t         *testing.T
	bin       string
	env       []string
	grpcAddr  string
	adminAddr string
	cmd       *exec.Cmd
	exited    chan struct{}
}

func freeAddr(t *testing.T) string {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().String()
}

func (r *replica) start() {
	r.t.Helper()
	r.cmd = exec.Command(r.bin)
	r.cmd.Env = append(os.Environ(), append(r.env, "KEHU_GRPC_ADDR="+r.grpcAddr, "KEHU_ADMIN_ADDR="+r.adminAddr)...)
	r.cmd.Stdout, r.cmd.Stderr = io.Discard, io.Discard
	if err := r.cmd.Start(); err != nil {
		r.t.Fatal(err)
	}
	r.exited = make(chan struct{})
	go func(cmd *exec.Cmd, exited chan struct{}) {
		_ = cmd.Wait()
		close(exited)
	}(r.cmd, r.exited)
	deadline := time.Now().Add(30 * time.Second)
	for {
		resp, err := http.Get("http://" + r.adminAddr + "/readyz")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return
			}
		}
		if time.Now().After(deadline) {
			r.t.Fatalf("replica %s not ready", r.grpcAddr)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

func (r *replica) signal(sig syscall.Signal) {
	_ = r.cmd.Process.Signal(sig)
	select {
	case <-r.exited:
	case <-time.After(30 * time.Second):
		r.t.Fatalf("replica %s did not exit after %v", r.grpcAddr, sig)
	}
}

// served reads how many GetCustomer calls the replica answered OK.
func (r *replica) served() int {
	resp, err := http.Get("http://" + r.adminAddr + "/metrics")
	if err != nil {
		return -1
	}
	defer resp.Body.Close()
	s := bufio.NewScanner(resp.Body)
	for s.Scan() {
		line := s.Text()
		if strings.HasPrefix(line, "grpc_server_handled_total{") && strings.Contains(line, `grpc_method="GetCustomer"`) && strings.Contains(line, `grpc_code="OK"`) {
			n, _ := strconv.Atoi(line[strings.LastIndex(line, " ")+1:])
			return n
		}
	}
	return 0
}

// load sends reads through the gateway until stopped, counting outcomes.
type load struct {
	ok, failed atomic.Int64
	mu         sync.Mutex
	failures   []string
}

func (l *load) run(ctx context.Context, base, token string, names []string, workers int) *sync.WaitGroup {
	var wg sync.WaitGroup
	for range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			client := &http.Client{Timeout: 15 * time.Second}
			for ctx.Err() == nil {
				req, _ := http.NewRequest(http.MethodGet, base+"/v1/"+names[rand.IntN(len(names))], nil)
				req.Header.Set("Authorization", "Bearer "+token)
				resp, err := client.Do(req)
				if err != nil {
					l.fail(err.Error())
					continue
				}
				body, _ := io.ReadAll(resp.Body)
				resp.Body.Close()
				if resp.StatusCode != http.StatusOK {
					l.fail(fmt.Sprintf("HTTP %d: %s", resp.StatusCode, body))
					continue
				}
				l.ok.Add(1)
			}
		}()
	}
	return &wg
}

func (l *load) fail(msg string) {
	l.failed.Add(1)
	l.mu.Lock()
	if len(l.failures) < 5 {
		l.failures = append(l.failures, msg)
	}
	l.mu.Unlock()
}

// TestReplicaFailureAndRollingRestart runs three customer-service
// processes behind the gateway, as three pods behind a headless Service,
// under constant read load: killing one (SIGKILL) and then restarting each
// in turn (SIGTERM: NOT_SERVING, drain, graceful stop) must not fail a
// single request, and traffic must spread over whoever is alive.
func TestReplicaFailureAndRollingRestart(t *testing.T) {
	if testing.Short() {
		t.Skip("drill builds and runs service binaries")
	}
	bin := filepath.Join(t.TempDir(), "customer")
	build := exec.Command("go", "build", "-o", bin, "github.com/kehu-crm/kehu/services/customer")
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("building the customer service: %v\n%s", err, out)
	}
	dbURL := testdb.New(t, customermigrations.All)
	env := []string{
		"KEHU_DATABASE_URL=" + dbURL, "KEHU_REDIS_URL=" + testkit.RedisURL(), "KEHU_JWT_SECRET=" + testkit.Secret,
		// Four readers with one token would be rate limited: not what this drill is about.
		"KEHU_RATE_LIMIT=0",
		"KEHU_DRAIN_DELAY=500ms", "KEHU_SHUTDOWN_TIMEOUT=5s", "KEHU_LOG_LEVEL=error",
		"KEHU_PAGE_TOKEN_KEY=drill-shared-key", "KEHU_PII_KEKS=" + testkit.PIIKEK,
	}
	replicas := make([]*replica, 3)
	var addrs []string
	for i := range replicas {
		replicas[i] = &replica{t: t, bin: bin, env: env, grpcAddr: freeAddr(t), adminAddr: freeAddr(t)}
		replicas[i].start()
		addrs = append(addrs, replicas[i].grpcAddr)
	}
	t.Cleanup(func() {
		for _, r := range replicas {
			r.signal(syscall.SIGKILL)
		}
	})

	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	gw, err := gatewayapp.New(ctx, gatewayapp.Config{
		HTTPAddr: "127.0.0.1:0", AdminAddr: "127.0.0.1:0",
		CustomerAddr: strings.Join(addrs, ","), InteractionAddr: freeAddr(t), ServiceDeskAddr: freeAddr(t), AnalyticsAddr: freeAddr(t),
		BackendTimeout: 10 * time.Second, MaxBodyBytes: 1 << 20, ShutdownTimeout: 5 * time.Second,
	}, slog.New(slog.NewJSONHandler(io.Discard, nil)))
	if err != nil {
		t.Fatal(err)
	}
	gwDone := make(chan error, 1)
	go func() { gwDone <- gw.Serve(ctx) }()
	defer func() { cancel(); <-gwDone }()
	base := "http://" + gw.HTTPAddr()

	signer, _ := auth.NewHS256Signer(testkit.Secret, "kehu", "kehu")
	token, _ := signer.Sign("mia", []auth.Role{auth.RoleManager}, time.Hour)
	mgr := client{t, base, token}
	var names []string
	for i := range 20 {
		r := mgr.do("POST", "/v1/customers", map[string]any{"displayName": fmt.Sprintf("Drill %02d", i)})
		expect(t, r, http.StatusOK)
		names = append(names, r.body["name"].(string))
	}

	var l load
	loadCtx, stopLoad := context.WithCancel(ctx)
	wg := l.run(loadCtx, base, token, names, 4)
	time.Sleep(1500 * time.Millisecond)
	before := []int{replicas[0].served(), replicas[1].served(), replicas[2].served()}
	for i, n := range before {
		if n <= 0 {
			t.Errorf("replica %d served %d reads with all three up", i, n)
		}
	}

	// Drill 1: a replica dies without warning.
	replicas[0].signal(syscall.SIGKILL)
	okBefore := l.ok.Load()
	time.Sleep(2 * time.Second)
	after := []int{replicas[1].served() - before[1], replicas[2].served() - before[2]}
	served := l.ok.Load() - okBefore
	t.Logf("after the kill: %d reads, spread %v over the survivors", served, after)
	for i, n := range after {
		if n < int(served)/5 {
			t.Errorf("survivor %d took only %d of %d reads", i+1, n, served)
		}
	}
	replicas[0].start()

	// Drill 2: rolling restart, one replica at a time.
	for i, r := range replicas {
		r.signal(syscall.SIGTERM)
		r.start()
		t.Logf("replica %d restarted; %d reads so far", i, l.ok.Load())
		time.Sleep(500 * time.Millisecond)
	}
	time.Sleep(time.Second)
	stopLoad()
	wg.Wait()
	t.Logf("%d reads succeeded, %d failed", l.ok.Load(), l.failed.Load())
	if l.failed.Load() != 0 {
		t.Fatalf("%d reads failed, e.g. %v", l.failed.Load(), l.failures)
	}
	if l.ok.Load() < 500 {
		t.Fatalf("only %d reads in the drill: load did not run", l.ok.Load())
	}
}
