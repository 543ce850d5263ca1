// Package backup takes and restores logical backups of Kehu's service
// schemas with PostgreSQL's own tools (pg_dump, pg_restore, psql).
//
// Every schema goes into one archive from one pg_dump run, and so from one
// snapshot: each service's outbox, the event cursors of the services that
// follow it and the idempotency keys of its requests are taken at the same
// instant. After a restore every consumer resumes exactly where the
// restored stream stands, with nothing lost and nothing applied twice.
//
// A restore is one transaction: the schemas are dropped and recreated from
// the archive together, so a failed restore leaves the database as it was.
package backup

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/url"
	"strings"

	"github.com/jackc/pgx/v5"
)

// Dump writes an archive (pg_dump's custom format, compressed) of schemas,
// and of the extensions their objects use, to w.
func Dump(ctx context.Context, databaseURL string, schemas []string, w io.Writer) error {
	conn, err := connect(ctx, databaseURL)
	if err != nil {
		return err
	}
	defer conn.Close(context.WithoutCancel(ctx))
	tools, err := findTools(ctx, conn)
	if err != nil {
		return err
	}
	if err := requireSchemas(ctx, conn, schemas); err != nil {
		return err
	}
	extensions, err := usedExtensions(ctx, conn, schemas)
	if err != nil {
		return err
	}
	target, password := libpqURL(databaseURL)
	args := []string{"--format=custom", "--no-password", "--dbname=" + target}
	for _, s := range schemas {
		args = append(args, "--schema="+s)
	}
	for _, e := range extensions {
		args = append(args, "--extension="+e)
	}
	return runAs(ctx, password, tools.dump, args, nil, w)
}

// RestoreOptions tune Restore.
type RestoreOptions struct {
	// Replace drops schemas that already hold tables. Without it, Restore
	// refuses to touch a database where any of them does.
	Replace bool
}

// ErrInUse is returned when Kehu services are connected to the database:
// they would keep serving (and caching) what the restore replaces.
var ErrInUse = errors.New("Kehu services are connected to the database; stop them before restoring")

// ErrNotEmpty is returned when a schema to restore already holds tables
// and RestoreOptions.Replace is not set.
var ErrNotEmpty = errors.New("the database already holds Kehu data")

// Restore replaces schemas with the archive in the file archive, in one
// transaction, and returns the state of the restored event streams. An
// archive that lacks one of schemas is refused before anything is dropped.
// Objects are owned by the user restoring (the archive's owners may not
// exist in this cluster), and comments are left out (commenting on an
// extension takes its owner).
func Restore(ctx context.Context, databaseURL string, schemas []string, archive string, opts RestoreOptions) ([]Stream, error) {
	conn, err := connect(ctx, databaseURL)
	if err != nil {
		return nil, err
	}
	defer conn.Close(context.WithoutCancel(ctx))
	tools, err := findTools(ctx, conn)
	if err != nil {
		return nil, err
	}
	if err := requireIdle(ctx, conn); err != nil {
		return nil, err
	}
	occupied, err := schemasWithTables(ctx, conn, schemas)
	if err != nil {
		return nil, err
	}
	if len(occupied) > 0 && !opts.Replace {
		return nil, fmt.Errorf("%w (%s)", ErrNotEmpty, strings.Join(occupied, ", "))
	}
	if err := requireArchived(ctx, tools, archive, schemas); err != nil {
		return nil, err
	}

	// pg_restore turns the archive into SQL; psql runs it after the drops
	// in one transaction, stopping at the first error. The COMMIT is sent
	// only once pg_restore has read the whole archive: a broken archive
	// ends psql's input inside the transaction, which rolls it back.
	script := &strings.Builder{}
	script.WriteString("BEGIN;\n")
	for _, s := range schemas {
		fmt.Fprintf(script, "DROP SCHEMA IF EXISTS %s CASCADE;\n", pgx.Identifier{s}.Sanitize())
	}
	sql, sqlOut := io.Pipe()
	restoreErr := make(chan error, 1)
	go func() {
		err := run(ctx, tools.restore, []string{"--no-owner", "--no-comments", "--file=-", archive}, nil, sqlOut)
		if err == nil {
			_, err = io.WriteString(sqlOut, "\nCOMMIT;\n")
		}
		_ = sqlOut.CloseWithError(err)
		restoreErr <- err
	}()
	target, password := libpqURL(databaseURL)
	psqlArgs := []string{"--no-psqlrc", "--quiet", "--set=ON_ERROR_STOP=1", "--no-password", "--dbname=" + target, "--file=-"}
	err = runAs(ctx, password, tools.psql, psqlArgs, io.MultiReader(strings.NewReader(script.String()), sql), io.Discard)
	_ = sql.CloseWithError(errors.New("psql stopped"))
	if rerr := <-restoreErr; err == nil {
		err = rerr
	}
	if err != nil {
		return nil, fmt.Errorf("restoring: %w (the database is unchanged)", err)
	}
	return streams(ctx, conn, schemas)
}

// libpqURL is databaseURL for libpq's tools: without the query parameters
// only pgx understands (pool settings), which they would refuse, and
// without its password, returned apart so that it goes to the tools in
// their environment rather than on a command line other users can read.
func libpqURL(databaseURL string) (target, password string) {
	u, err := url.Parse(databaseURL)
	if err != nil || u.Scheme == "" {
		return databaseURL, "" // a key=value connection string
	}
	q := u.Query()
	for k := range q {
		if strings.HasPrefix(k, "pool_") {
			q.Del(k)
		}
	}
	u.RawQuery = q.Encode()
	if u.User != nil {
		password, _ = u.User.Password()
		u.User = url.User(u.User.Username())
	}
	return u.String(), password
}

// connect opens a session for the checks around a dump or restore.
func connect(ctx context.Context, databaseURL string) (*pgx.Conn, error) {
	cfg, err := pgx.ParseConfig(databaseURL)
	if err != nil {
		return nil, fmt.Errorf("parsing the database URL: %w", err)
	}
	for k := range cfg.RuntimeParams {
		if strings.HasPrefix(k, "pool_") {
			delete(cfg.RuntimeParams, k)
		}
	}
	conn, err := pgx.ConnectConfig(ctx, cfg)
	if err != nil {
		return nil, fmt.Errorf("connecting to PostgreSQL: %w", err)
	}
	return conn, nil
}
