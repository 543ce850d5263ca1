package servers

import (
	"context"
	"os/exec"
	"path/filepath"
	"testing"
)

func logTo(t *testing.T) func(string, ...any) {
	return func(format string, args ...any) { t.Logf(format, args...) }
}

// TestEnsureUsesReachableServers: with nothing configured, the local
// servers of this machine (or of `kehuctl env`) are found and answer.
func TestEnsureUsesReachableServers(t *testing.T) {
	ctx := context.Background()
	env, stop, err := Ensure(ctx, t.TempDir(), logTo(t))
	if err != nil {
		t.Fatal(err)
	}
	defer stop()
	if err := pingPostgres(ctx, env.DatabaseURL); err != nil {
		t.Fatalf("postgres %s: %v", env.DatabaseURL, err)
	}
	if err := pingRedis(ctx, env.RedisURL); err != nil {
		t.Fatalf("redis %s: %v", env.RedisURL, err)
	}
}

func TestEnsureRejectsUnreachableConfiguredServer(t *testing.T) {
	t.Setenv("KEHU_REDIS_URL", "redis://127.0.0.1:1/0")
	if _, _, err := Ensure(context.Background(), t.TempDir(), logTo(t)); err == nil {
		t.Fatal("Ensure accepted a Redis URL where nothing listens")
	}
}

// TestThrowawayRedis exercises the fresh-machine path: start a private
// redis-server, use it, stop it.
func TestThrowawayRedis(t *testing.T) {
	if _, err := exec.LookPath("redis-server"); err != nil {
		t.Skip("redis-server not installed")
	}
	ctx := context.Background()
	url, stop, err := StartRedis(ctx, filepath.Join(t.TempDir(), "redis"), logTo(t))
	if err != nil {
		t.Fatal(err)
	}
	if err := pingRedis(ctx, url); err != nil {
		stop()
		t.Fatal(err)
	}
	stop()
	if err := pingRedis(ctx, url); err == nil {
		t.Fatal("redis still answers after stop")
	}
}

// TestThrowawayPostgres initialises and starts a private cluster (as the
// postgres user when running as root), then stops it.
func TestThrowawayPostgres(t *testing.T) {
	if postgresBin() == "" {
		t.Skip("PostgreSQL server binaries not installed")
	}
	ctx := context.Background()
	// Under the test's temp dir, whose parents runner makes traversable.
	url, stop, err := StartPostgres(ctx, filepath.Join(t.TempDir(), "pg"), logTo(t))
	if err != nil {
		t.Fatal(err)
	}
	if err := pingPostgres(ctx, url); err != nil {
		stop()
		t.Fatal(err)
	}
	stop()
	if err := pingPostgres(ctx, url); err == nil {
		t.Fatal("postgres still answers after stop")
	}
}
