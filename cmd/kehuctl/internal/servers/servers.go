// Package servers finds or starts the PostgreSQL and Redis that `make run`
// and `make test` need, so a fresh Debian/Ubuntu machine with only Go
// installed works with no manual set-up. For each server, in order:
//
//  1. KEHU_DATABASE_URL / KEHU_REDIS_URL, if set (it must answer);
//  2. the default local port (127.0.0.1:5432 / :6379), if something answers;
//  3. a throwaway server under the state dir on a free port, installing the
//     Debian package first if the binaries are missing. PostgreSQL refuses
//     to run as root, so as root the cluster is initialised and run as the
//     unprivileged "postgres" user (created by the Debian package).
//
// Whatever was started is stopped by the returned stop function.
package servers

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/url"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/redis/go-redis/v9"
)

// Env holds the URLs of reachable servers.
type Env struct {
	DatabaseURL string
	RedisURL    string
}

// Default local servers tried before starting our own.
const (
	LocalDatabaseURL = "postgres://postgres@127.0.0.1:5432/postgres?sslmode=disable"
	LocalRedisURL    = "redis://127.0.0.1:6379/0"
)

// Ensure returns reachable servers and a function that stops the ones it
// started.
func Ensure(ctx context.Context, stateDir string, logf func(string, ...any)) (Env, func(), error) {
	var stops []func()
	stopAll := func() {
		for i := len(stops) - 1; i >= 0; i-- {
			stops[i]()
		}
	}
	var env Env
	var err error
	env.DatabaseURL, err = resolve(ctx, "postgres", "KEHU_DATABASE_URL", LocalDatabaseURL, pingPostgres, func() (string, func(), error) {
		return StartPostgres(ctx, filepath.Join(stateDir, "pg"), logf)
	}, &stops, logf)
	if err != nil {
		stopAll()
		return Env{}, nil, err
	}
	env.RedisURL, err = resolve(ctx, "redis", "KEHU_REDIS_URL", LocalRedisURL, pingRedis, func() (string, func(), error) {
		return StartRedis(ctx, filepath.Join(stateDir, "redis"), logf)
	}, &stops, logf)
	if err != nil {
		stopAll()
		return Env{}, nil, err
	}
	return env, stopAll, nil
}

func resolve(ctx context.Context, what, envVar, local string, ping func(context.Context, string) error,
	start func() (string, func(), error), stops *[]func(), logf func(string, ...any)) (string, error) {
	if url := os.Getenv(envVar); url != "" {
		if err := ping(ctx, url); err != nil {
			return "", fmt.Errorf("%s from %s does not answer: %w", what, envVar, err)
		}
		logf("%s: using %s", what, envVar)
		return url, nil
	}
	if ping(ctx, local) == nil {
		logf("%s: using %s", what, Redact(local))
		return local, nil
	}
	url, stop, err := start()
	if err != nil {
		return "", fmt.Errorf("starting a throwaway %s: %w", what, err)
	}
	*stops = append(*stops, stop)
	return url, nil
}

// Redact hides the password and options of a URL for logs.
func Redact(raw string) string {
	u, err := url.Parse(raw)
	if err != nil {
		return "(unparseable URL)"
	}
	u.RawQuery = ""
	return u.Redacted()
}

func pingPostgres(ctx context.Context, url string) error {
	ctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	conn, err := pgx.Connect(ctx, url)
	if err != nil {
		return err
	}
	defer conn.Close(ctx)
	return conn.Ping(ctx)
}

func pingRedis(ctx context.Context, url string) error {
	opts, err := redis.ParseURL(url)
	if err != nil {
		return err
	}
	opts.MaxRetries = -1 // go-redis reads 0 as "default (3)"
	opts.DialerRetries = 1
	c := redis.NewClient(opts)
	defer c.Close()
	ctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	return c.Ping(ctx).Err()
}

// freePort asks the kernel for an unused port.
func freePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}

// install installs Debian packages, directly as root or through
// passwordless sudo; otherwise it says what to install.
func install(ctx context.Context, logf func(string, ...any), pkgs ...string) error {
	var prefix []string
	if os.Geteuid() != 0 {
		if exec.CommandContext(ctx, "sudo", "-n", "true").Run() != nil {
			return fmt.Errorf("%s not installed and no root access: run `sudo apt-get install %s`", strings.Join(pkgs, ", "), strings.Join(pkgs, " "))
		}
		prefix = []string{"sudo", "-n"}
	}
	logf("installing %s from Debian packages", strings.Join(pkgs, ", "))
	aptGet := func(args ...string) error {
		full := append(append([]string{}, prefix...), append([]string{"apt-get"}, args...)...)
		c := exec.CommandContext(ctx, full[0], full[1:]...)
		c.Env = append(os.Environ(), "DEBIAN_FRONTEND=noninteractive")
		out, err := c.CombinedOutput()
		if err != nil {
			return fmt.Errorf("apt-get %s: %w\n%s", strings.Join(args, " "), err, out)
		}
		return nil
	}
	if err := aptGet(append([]string{"install", "-y", "--no-install-recommends"}, pkgs...)...); err != nil {
		if err := aptGet("update"); err != nil {
			return err
		}
		return aptGet(append([]string{"install", "-y", "--no-install-recommends"}, pkgs...)...)
	}
	return nil
}

// postgresBin finds the newest installed PostgreSQL server binaries.
func postgresBin() string {
	dirs, _ := filepath.Glob("/usr/lib/postgresql/*/bin")
	sort.Slice(dirs, func(i, j int) bool { return version(dirs[i]) > version(dirs[j]) })
	for _, d := range dirs {
		if _, err := os.Stat(filepath.Join(d, "initdb")); err == nil {
			return d
		}
	}
	if p, err := exec.LookPath("initdb"); err == nil {
		return filepath.Dir(p)
	}
	return ""
}

func version(binDir string) int {
	v, _ := strconv.Atoi(filepath.Base(filepath.Dir(binDir)))
	return v
}

// StartPostgres initialises (once) and starts a cluster in dir on a free
// port, with fsync off: it holds only development and test data.
func StartPostgres(ctx context.Context, dir string, logf func(string, ...any)) (string, func(), error) {
	bin := postgresBin()
	if bin == "" {
		if err := install(ctx, logf, "postgresql", "postgresql-contrib"); err != nil {
			return "", nil, err
		}
		if bin = postgresBin(); bin == "" {
			return "", nil, errors.New("postgresql installed but initdb not found")
		}
	}
	abs, err := filepath.Abs(dir)
	if err != nil {
		return "", nil, err
	}
	run, err := runner(abs)
	if err != nil {
		return "", nil, err
	}
	data := filepath.Join(abs, "data")
	if _, err := os.Stat(filepath.Join(data, "PG_VERSION")); err != nil {
		logf("postgres: initialising a throwaway cluster in %s", data)
		if err := run(ctx, filepath.Join(bin, "initdb"), "-D", data, "-U", "postgres", "--auth=trust", "-E", "UTF8", "--no-sync"); err != nil {
			return "", nil, err
		}
	}
	port, err := freePort()
	if err != nil {
		return "", nil, err
	}
	opts := fmt.Sprintf("-p %d -k %s -c listen_addresses=127.0.0.1 -c fsync=off -c synchronous_commit=off -c full_page_writes=off -c max_connections=300", port, abs)
	if err := run(ctx, filepath.Join(bin, "pg_ctl"), "-D", data, "-o", opts, "-l", filepath.Join(abs, "postgres.log"), "-w", "-t", "60", "start"); err != nil {
		return "", nil, err
	}
	url := fmt.Sprintf("postgres://postgres@127.0.0.1:%d/postgres?sslmode=disable", port)
	logf("postgres: started throwaway server on 127.0.0.1:%d (log %s)", port, filepath.Join(abs, "postgres.log"))
	stop := func() {
		if err := run(context.Background(), filepath.Join(bin, "pg_ctl"), "-D", data, "-m", "fast", "-w", "stop"); err != nil {
			logf("postgres: stopping: %v", err)
		}
	}
	return url, stop, waitFor(ctx, func() error { return pingPostgres(ctx, url) })
}

// runner returns how to run PostgreSQL commands in dir: directly, or as
// the unprivileged postgres user when we are root (PostgreSQL refuses to
// run as root). dir is made owned by that user, and its parents
// traversable, so the cluster can live under the repository.
func runner(dir string) (func(context.Context, string, ...string) error, error) {
	direct := func(ctx context.Context, name string, args ...string) error {
		out, err := exec.CommandContext(ctx, name, args...).CombinedOutput()
		if err != nil {
			return fmt.Errorf("%s: %w\n%s", filepath.Base(name), err, out)
		}
		return nil
	}
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, err
	}
	if os.Geteuid() != 0 {
		return direct, nil
	}
	u, err := user.Lookup("postgres")
	if err != nil {
		return nil, fmt.Errorf("running as root and no postgres user to run PostgreSQL as: %w", err)
	}
	uid, _ := strconv.Atoi(u.Uid)
	gid, _ := strconv.Atoi(u.Gid)
	if err := filepath.Walk(dir, func(p string, _ os.FileInfo, err error) error {
		if err != nil {
			return err
		}
		return os.Lchown(p, uid, gid)
	}); err != nil {
		return nil, err
	}
	for p := filepath.Dir(dir); p != "/"; p = filepath.Dir(p) {
		if fi, err := os.Stat(p); err == nil && fi.Mode().Perm()&0o001 == 0 {
			if err := os.Chmod(p, fi.Mode().Perm()|0o011); err != nil {
				return nil, err
			}
		}
	}
	return func(ctx context.Context, name string, args ...string) error {
		return direct(ctx, "runuser", append([]string{"-u", "postgres", "--", name}, args...)...)
	}, nil
}

// StartRedis starts a memory-only redis-server in dir on a free port.
func StartRedis(ctx context.Context, dir string, logf func(string, ...any)) (string, func(), error) {
	bin, err := exec.LookPath("redis-server")
	if err != nil {
		if err := install(ctx, logf, "redis-server"); err != nil {
			return "", nil, err
		}
		if bin, err = exec.LookPath("redis-server"); err != nil {
			return "", nil, err
		}
	}
	abs, err := filepath.Abs(dir)
	if err != nil {
		return "", nil, err
	}
	if err := os.MkdirAll(abs, 0o755); err != nil {
		return "", nil, err
	}
	port, err := freePort()
	if err != nil {
		return "", nil, err
	}
	pidFile := filepath.Join(abs, "redis.pid")
	out, err := exec.CommandContext(ctx, bin, "--port", strconv.Itoa(port), "--bind", "127.0.0.1",
		"--daemonize", "yes", "--save", "", "--appendonly", "no", "--dir", abs,
		"--pidfile", pidFile, "--logfile", filepath.Join(abs, "redis.log")).CombinedOutput()
	if err != nil {
		return "", nil, fmt.Errorf("redis-server: %w\n%s", err, out)
	}
	url := fmt.Sprintf("redis://127.0.0.1:%d/0", port)
	logf("redis: started throwaway server on 127.0.0.1:%d", port)
	stop := func() {
		opts, _ := redis.ParseURL(url)
		c := redis.NewClient(opts)
		defer c.Close()
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		// SHUTDOWN closes the connection instead of replying.
		_ = c.ShutdownNoSave(ctx).Err()
	}
	return url, stop, waitFor(ctx, func() error { return pingRedis(ctx, url) })
}

func waitFor(ctx context.Context, ready func() error) error {
	deadline := time.Now().Add(30 * time.Second)
	for {
		err := ready()
		if err == nil {
			return nil
		}
		if time.Now().After(deadline) || ctx.Err() != nil {
			return fmt.Errorf("server did not become ready: %w", err)
		}
		time.Sleep(200 * time.Millisecond)
	}
}
