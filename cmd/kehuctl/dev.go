package main

import (
	"context"
	"flag"
	"fmt"
	"net/http"
	"os"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/kehu-crm/kehu/cmd/kehuctl/internal/servers"
	"github.com/kehu-crm/kehu/pkg/auth"
)

// devDatabase is the database `kehuctl dev` keeps its data in when it
// picks the server itself, apart from the test databases.
const devDatabase = "kehu"

func runDev(ctx context.Context, args []string) error {
	fs := flag.NewFlagSet("dev", flag.ContinueOnError)
	demo := fs.Bool("demo", false, "load the demo data set once the suite is up")
	httpAddr := fs.String("http", envOr("KEHU_HTTP_ADDR", "127.0.0.1:8080"), "REST gateway listen address")
	split := fs.Bool("split", false, "run each service as its own process, talking over loopback gRPC, as in a cluster (default: one process, wired in-process)")
	if err := fs.Parse(args); err != nil {
		return fmt.Errorf("%w: %v", errUsage, err)
	}
	env, stopServers, err := servers.Ensure(ctx, stateDir(), logf)
	if err != nil {
		return err
	}
	defer stopServers()
	dbURL := env.DatabaseURL
	if os.Getenv("KEHU_DATABASE_URL") == "" {
		if dbURL, err = ensureDatabase(ctx, env.DatabaseURL, devDatabase); err != nil {
			return err
		}
	}
	childEnv := []string{
		"KEHU_DATABASE_URL=" + dbURL,
		"KEHU_REDIS_URL=" + env.RedisURL,
		"KEHU_JWT_SECRET=" + jwtSecret(),
		// The published development secret is accepted only here.
		"KEHU_ENVIRONMENT=development",
		// Webhook receivers on this machine (http://127.0.0.1:…) are the
		// usual way to try webhooks locally.
		"KEHU_WEBHOOK_ALLOW_PRIVATE_TARGETS=" + envOr("KEHU_WEBHOOK_ALLOW_PRIVATE_TARGETS", "true"),
		"KEHU_LOG_LEVEL=" + envOr("KEHU_LOG_LEVEL", "info"),
	}
	if err := migrate(ctx, dbURL); err != nil {
		return err
	}
	var (
		exited <-chan error
		stop   func()
	)
	if *split {
		exited, stop, err = startSplit(ctx, childEnv, *httpAddr)
	} else {
		exited, stop, err = startOneProcess(ctx, childEnv, *httpAddr)
	}
	if err != nil {
		return err
	}
	defer func() {
		stop()
		logf("stopped")
	}()
	restURL := "http://" + strings.Replace(*httpAddr, "0.0.0.0", "127.0.0.1", 1)
	if strings.HasPrefix(*httpAddr, ":") {
		restURL = "http://127.0.0.1" + *httpAddr
	}
	if err := waitReady(ctx, "http://127.0.0.1:9280/readyz", exited); err != nil {
		return err
	}
	if *demo {
		if err := loadDemo(ctx, "127.0.0.1:9101", "127.0.0.1:9102", "127.0.0.1:9103", "127.0.0.1:9104"); err != nil {
			return fmt.Errorf("loading demo data: %w", err)
		}
	}
	token, err := signToken("admin", []auth.Role{auth.RoleAdmin}, 12*time.Hour)
	if err != nil {
		return err
	}
	mode := "one process, services wired in-process (--split runs one process each)"
	if *split {
		mode = "one process per service, over loopback gRPC"
	}
	fmt.Printf(`
Kehu is running (%[4]s).
  web console     %[1]s/console/  (development sign-in: any user id, any role)
  REST API        %[1]s/v1/customers
  OpenAPI spec    %[1]s/openapi.json
  API docs        %[1]s/docs
  gRPC            customer 127.0.0.1:9101, interaction :9102, service desk :9103, analytics :9104 (reflection on)
  metrics         http://127.0.0.1:9201/metrics (customer), :9202 (interaction), :9203 (service desk), :9204 (analytics), :9280 (gateway)
  database        %[2]s
  admin token     export KEHU_TOKEN=%[3]s
Press Ctrl-C to stop.
`, restURL, servers.Redact(dbURL), token, mode)

	select {
	case <-ctx.Done():
		logf("shutting down")
		return nil
	case err := <-exited:
		return err
	}
}

// startSplit runs each service as its own program; exited reports the
// first that stops.
func startSplit(ctx context.Context, env []string, httpAddr string) (exited <-chan error, stop func(), err error) {
	var children []*child
	stop = func() {
		for i := len(children) - 1; i >= 0; i-- {
			children[i].stop(30 * time.Second)
		}
	}
	for _, svc := range suite(httpAddr) {
		c, err := start(svc, env)
		if err != nil {
			stop()
			return nil, nil, err
		}
		children = append(children, c)
	}
	out := make(chan error, len(children))
	for _, c := range children {
		go func() {
			err := <-c.done
			c.done <- err // for stop, which waits on it too
			out <- fmt.Errorf("%s exited unexpectedly: %v", c.name, err)
		}()
	}
	return out, stop, nil
}

// startOneProcess migrates and runs the whole suite in this process.
func startOneProcess(ctx context.Context, env []string, httpAddr string) (exited <-chan error, stop func(), err error) {
	a, err := startAllInOne(ctx, env, httpAddr)
	if err != nil {
		return nil, nil, err
	}
	serveCtx, cancel := context.WithCancel(context.WithoutCancel(ctx))
	done := make(chan error, 1)
	out := make(chan error, 1)
	go func() {
		err := a.serve(serveCtx)
		if serveCtx.Err() == nil {
			out <- err
		}
		done <- err
	}()
	return out, func() {
		cancel()
		if err := <-done; err != nil {
			logf("%v", err)
		}
	}, nil
}

// ensureDatabase creates db on the server of serverURL if missing.
func ensureDatabase(ctx context.Context, serverURL, db string) (string, error) {
	conn, err := pgx.Connect(ctx, serverURL)
	if err != nil {
		return "", err
	}
	defer conn.Close(ctx)
	var exists bool
	if err := conn.QueryRow(ctx, `SELECT EXISTS (SELECT 1 FROM pg_database WHERE datname = $1)`, db).Scan(&exists); err != nil {
		return "", err
	}
	if !exists {
		if _, err := conn.Exec(ctx, "CREATE DATABASE "+pgx.Identifier{db}.Sanitize()); err != nil {
			return "", err
		}
	}
	cfg := conn.Config()
	return fmt.Sprintf("postgres://%s@%s:%d/%s?sslmode=disable", cfg.User, cfg.Host, cfg.Port, db), nil
}

// waitReady polls the gateway's readiness, which checks every backend.
func waitReady(ctx context.Context, url string, exited <-chan error) error {
	deadline := time.Now().Add(60 * time.Second)
	for {
		select {
		case err := <-exited:
			return fmt.Errorf("during start-up: %w", err)
		default:
		}
		req, _ := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
		if resp, err := http.DefaultClient.Do(req); err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return nil
			}
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("suite not ready after 60s (%s)", url)
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(250 * time.Millisecond):
		}
	}
}
