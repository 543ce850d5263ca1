package backup

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"

	"github.com/jackc/pgx/v5"
)

// tools are the PostgreSQL client programs of one version.
type tools struct {
	dump, restore, psql string
}

// findTools picks the client programs for the server conn is on: pg_dump
// refuses servers newer than itself, so the oldest installed version not
// older than the server's (Debian keeps each in /usr/lib/postgresql/N/bin),
// else the ones on PATH if they are new enough.
func findTools(ctx context.Context, conn *pgx.Conn) (tools, error) {
	var num int
	if err := conn.QueryRow(ctx, `SELECT current_setting('server_version_num')::int`).Scan(&num); err != nil {
		return tools{}, fmt.Errorf("reading the server version: %w", err)
	}
	server := num / 10000
	dirs, _ := filepath.Glob("/usr/lib/postgresql/*/bin")
	slices.SortFunc(dirs, func(a, b string) int { return dirVersion(a) - dirVersion(b) })
	for _, d := range dirs {
		if dirVersion(d) >= server {
			if t, ok := toolsIn(d); ok {
				return t, nil
			}
		}
	}
	if p, err := exec.LookPath("pg_dump"); err == nil {
		if v := clientVersion(ctx, p); v >= server {
			if t, ok := toolsIn(filepath.Dir(p)); ok {
				return t, nil
			}
		}
	}
	return tools{}, fmt.Errorf("no pg_dump, pg_restore and psql of PostgreSQL %d or newer found (install postgresql-client-%d)", server, server)
}

func dirVersion(binDir string) int {
	v, _ := strconv.Atoi(filepath.Base(filepath.Dir(binDir)))
	return v
}

func toolsIn(dir string) (tools, bool) {
	t := tools{dump: filepath.Join(dir, "pg_dump"), restore: filepath.Join(dir, "pg_restore"), psql: filepath.Join(dir, "psql")}
	for _, p := range []string{t.dump, t.restore, t.psql} {
		if _, err := os.Stat(p); err != nil {
			return tools{}, false
		}
	}
	return t, true
}

var majorVersion = regexp.MustCompile(`\) (\d+)`)

// clientVersion is the major version pg_dump --version reports
// ("pg_dump (PostgreSQL) 15.4 (Debian …)"), 0 if unknown.
func clientVersion(ctx context.Context, pgDump string) int {
	out, err := exec.CommandContext(ctx, pgDump, "--version").Output()
	if err != nil {
		return 0
	}
	m := majorVersion.FindSubmatch(out)
	if m == nil {
		return 0
	}
	v, _ := strconv.Atoi(string(m[1]))
	return v
}

// run runs a client program with stdin and stdout, and returns its
// standard error's last lines as the error when it fails.
func run(ctx context.Context, program string, args []string, stdin io.Reader, stdout io.Writer) error {
	return runAs(ctx, "", program, args, stdin, stdout)
}

// runAs is run with the database password, if any, in PGPASSWORD.
func runAs(ctx context.Context, password, program string, args []string, stdin io.Reader, stdout io.Writer) error {
	cmd := exec.CommandContext(ctx, program, args...)
	var stderr bytes.Buffer
	cmd.Stdin, cmd.Stdout, cmd.Stderr = stdin, stdout, &stderr
	// libpq's environment must not redirect the tools elsewhere than the
	// URL says (PGDATABASE, PGSERVICE, …).
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "PG") {
			cmd.Env = append(cmd.Env, kv)
		}
	}
	if password != "" {
		cmd.Env = append(cmd.Env, "PGPASSWORD="+password)
	}
	if err := cmd.Run(); err != nil {
		msg := strings.TrimSpace(stderr.String())
		if lines := strings.Split(msg, "\n"); len(lines) > 5 {
			msg = strings.Join(lines[len(lines)-5:], "\n")
		}
		return fmt.Errorf("%s: %w: %s", filepath.Base(program), err, msg)
	}
	return nil
}

// requireArchived fails when the archive lacks one of schemas (pg_restore
// --list names each as "SCHEMA - name"): restoring it would drop that
// service's data and put nothing in its place.
func requireArchived(ctx context.Context, t tools, archive string, schemas []string) error {
	var list bytes.Buffer
	if err := run(ctx, t.restore, []string{"--list", archive}, nil, &list); err != nil {
		return fmt.Errorf("reading the archive: %w", err)
	}
	var missing []string
	for _, s := range schemas {
		if !regexp.MustCompile(`(?m) SCHEMA - ` + regexp.QuoteMeta(s) + `( |$)`).Match(list.Bytes()) {
			missing = append(missing, s)
		}
	}
	if len(missing) > 0 {
		return fmt.Errorf("the archive has no schema %s: not a backup of this suite (the database is unchanged)", strings.Join(missing, ", "))
	}
	return nil
}
