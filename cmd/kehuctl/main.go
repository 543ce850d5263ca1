// Command kehuctl is Kehu's developer and operator tool.
//
//	kehuctl env [--] CMD [ARGS...]   run CMD with KEHU_DATABASE_URL/KEHU_REDIS_URL
//	                                 pointing at reachable (or freshly started) servers
//	kehuctl dev [--demo]             run the whole suite locally (what `make run` does)
//	kehuctl token --sub ID --role R  print a development bearer token
//	kehuctl migrate                  apply every service's migrations
//	kehuctl backup [--file F]        one consistent archive of every service schema
//	kehuctl restore --file F         replace every service schema with an archive
//	kehuctl demo                     load the demo data set into a running suite
//	kehuctl seed [--customers N ...] load a large synthetic data set into a running suite
//	kehuctl images [SERVICE...]      build OCI image tarballs, offline (no Docker)
//	kehuctl bench [--quick] [--scale N] the speed table: Kehu against limits and PocketBase
package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/signal"
	"path/filepath"
	"syscall"
)

const usage = `usage: kehuctl <command> [flags]

commands:
  env [--] CMD [ARGS...]   run CMD against reachable PostgreSQL and Redis (started if needed)
  dev [--demo]             start PostgreSQL/Redis if needed, migrate, run every service and the gateway
  token --sub ID --role R  print a development JWT (repeat --role for several)
  migrate                  apply every service's migrations to KEHU_DATABASE_URL
  backup [--file F]        write one consistent archive of every service schema (pg_dump)
  restore --file F [--replace]
                           replace every service schema with an archive (services stopped),
                           then empty the services' cache in KEHU_REDIS_URL
  rotate-pii-keys [--data-key]
                           re-wrap the customer and analytics data keys under the first of
                           KEHU_PII_KEKS (with --data-key, generate a new data key first)
                           and re-encrypt personal fields under the newest data key
  demo                     load demo data into a running suite
  seed [--customers N] [--interactions M] [--tickets K] [--seed S]
                           load realistic synthetic data into a running suite through
                           the services' bulk imports, with a progress bar
  images [SERVICE...]      build OCI image tarballs offline into .state/images
  bench [--quick] [--scale N]
                           measure Kehu against this machine's limits and PocketBase (make bench);
                           --scale seeds N more customers and times RecomputeAll and the dashboards
`

// errUsage marks errors after which the usage text helps.
var errUsage = errors.New("bad usage")

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGINT, syscall.SIGTERM)
	code, err := run(ctx, os.Args[1:])
	stop()
	if err != nil {
		fmt.Fprintf(os.Stderr, "kehuctl: %v\n", err)
		if errors.Is(err, errUsage) {
			fmt.Fprint(os.Stderr, usage)
		}
		if code == 0 {
			code = 1
		}
	}
	os.Exit(code)
}

func run(ctx context.Context, args []string) (int, error) {
	if len(args) == 0 {
		return 2, fmt.Errorf("%w: no command", errUsage)
	}
	switch args[0] {
	case "env":
		return runEnv(ctx, args[1:])
	case "dev":
		return 0, runDev(ctx, args[1:])
	case "token":
		return 0, runToken(args[1:])
	case "migrate":
		return 0, runMigrate(ctx)
	case "backup":
		return 0, runBackup(ctx, args[1:])
	case "restore":
		return 0, runRestore(ctx, args[1:])
	case "rotate-pii-keys":
		return 0, runRotatePIIKeys(ctx, args[1:])
	case "demo":
		return 0, runDemo(ctx, args[1:])
	case "seed":
		return 0, runSeed(ctx, args[1:])
	case "images":
		return 0, runImages(ctx, args[1:])
	case "bench":
		return 0, runBench(ctx, args[1:])
	case "bench-bare":
		return 0, runBareServer(ctx, args[1:])
	case "help", "-h", "--help":
		fmt.Print(usage)
		return 0, nil
	}
	return 2, fmt.Errorf("%w: unknown command %q", errUsage, args[0])
}

// stateDir is the repository's ignored .state folder: kehuctl lives in
// .state/bin, so its parent is the state dir. KEHU_STATE_DIR overrides it.
func stateDir() string {
	if d := os.Getenv("KEHU_STATE_DIR"); d != "" {
		return d
	}
	exe, err := os.Executable()
	if err == nil && filepath.Base(filepath.Dir(exe)) == "bin" {
		return filepath.Dir(filepath.Dir(exe))
	}
	return ".state"
}

func logf(format string, args ...any) {
	fmt.Fprintf(os.Stderr, "kehuctl: "+format+"\n", args...)
}
