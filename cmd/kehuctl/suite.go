package main

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"sync"
	"syscall"
	"time"

	analyticsapp "github.com/kehu-crm/kehu/services/analytics/app"
	customerapp "github.com/kehu-crm/kehu/services/customer/app"
	interactionapp "github.com/kehu-crm/kehu/services/interaction/app"
	servicedeskapp "github.com/kehu-crm/kehu/services/servicedesk/app"
)

// service is one program of the suite as kehuctl runs it locally.
type service struct {
	name string
	env  []string
}

// suite lists every program `kehuctl dev` starts, in start order, with the
// fixed local ports the README documents.
func suite(httpAddr string) []service {
	return []service{
		{name: "customer", env: []string{"KEHU_GRPC_ADDR=127.0.0.1:9101", "KEHU_ADMIN_ADDR=127.0.0.1:9201"}},
		{name: "interaction", env: []string{"KEHU_GRPC_ADDR=127.0.0.1:9102", "KEHU_ADMIN_ADDR=127.0.0.1:9202", "KEHU_CUSTOMER_ADDR=127.0.0.1:9101"}},
		{name: "servicedesk", env: []string{"KEHU_GRPC_ADDR=127.0.0.1:9103", "KEHU_ADMIN_ADDR=127.0.0.1:9203", "KEHU_CUSTOMER_ADDR=127.0.0.1:9101",
			"KEHU_INTERACTION_ADDR=127.0.0.1:9102"}},
		{name: "analytics", env: []string{"KEHU_GRPC_ADDR=127.0.0.1:9104", "KEHU_ADMIN_ADDR=127.0.0.1:9204", "KEHU_CUSTOMER_ADDR=127.0.0.1:9101",
			"KEHU_INTERACTION_ADDR=127.0.0.1:9102", "KEHU_SERVICEDESK_ADDR=127.0.0.1:9103", "KEHU_ANALYTICS_SCORING_INTERVAL=1m"}},
		{name: "gateway", env: []string{"KEHU_HTTP_ADDR=" + httpAddr, "KEHU_ADMIN_ADDR=127.0.0.1:9280", "KEHU_CUSTOMER_ADDR=127.0.0.1:9101",
			"KEHU_INTERACTION_ADDR=127.0.0.1:9102", "KEHU_SERVICEDESK_ADDR=127.0.0.1:9103", "KEHU_ANALYTICS_ADDR=127.0.0.1:9104"}},
	}
}

// binary is the program next to kehuctl (make build puts them together).
func binary(name string) (string, error) {
	exe, err := os.Executable()
	if err != nil {
		return "", err
	}
	p := filepath.Join(filepath.Dir(exe), name)
	if _, err := os.Stat(p); err != nil {
		return "", fmt.Errorf("%s not found next to kehuctl (run make build): %w", name, err)
	}
	return p, nil
}

// child is a running program whose output is prefixed with its name.
type child struct {
	name string
	cmd  *exec.Cmd
	done chan error
}

var outputMu sync.Mutex

func prefixLines(name string, r io.Reader) {
	s := bufio.NewScanner(r)
	s.Buffer(make([]byte, 64*1024), 1024*1024)
	for s.Scan() {
		outputMu.Lock()
		fmt.Fprintf(os.Stdout, "%-9s| %s\n", name, s.Text())
		outputMu.Unlock()
	}
}

func start(svc service, env []string) (*child, error) {
	bin, err := binary(svc.name)
	if err != nil {
		return nil, err
	}
	cmd := exec.Command(bin)
	cmd.Env = append(append(os.Environ(), env...), svc.env...)
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		return nil, err
	}
	cmd.Stderr = cmd.Stdout
	if err := cmd.Start(); err != nil {
		return nil, err
	}
	c := &child{name: svc.name, cmd: cmd, done: make(chan error, 1)}
	go func() {
		prefixLines(svc.name, stdout)
		c.done <- cmd.Wait()
	}()
	return c, nil
}

// stop asks the child to shut down gracefully, then kills it.
func (c *child) stop(timeout time.Duration) {
	_ = c.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-c.done:
	case <-time.After(timeout):
		_ = c.cmd.Process.Kill()
		<-c.done
	}
}

// migrate applies every service's migrations to the database at
// databaseURL, in the suite's order.
func migrate(ctx context.Context, databaseURL string) error {
	for _, m := range []struct {
		name  string
		apply func(context.Context, string) error
	}{
		{"customer", customerapp.Migrate}, {"interaction", interactionapp.Migrate},
		{"servicedesk", servicedeskapp.Migrate}, {"analytics", analyticsapp.Migrate},
	} {
		if err := m.apply(ctx, databaseURL); err != nil {
			return fmt.Errorf("migrating %s: %w", m.name, err)
		}
		logf("%s: migrations applied", m.name)
	}
	return nil
}

func runMigrate(ctx context.Context) error {
	dbURL, err := databaseURL()
	if err != nil {
		return err
	}
	return migrate(ctx, dbURL)
}
