package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"time"

	"github.com/kehu-crm/kehu/pkg/backup"
	"github.com/kehu-crm/kehu/pkg/cache"
	kehuservice "github.com/kehu-crm/kehu/pkg/service"
	analyticsmigrations "github.com/kehu-crm/kehu/services/analytics/migrations"
	customermigrations "github.com/kehu-crm/kehu/services/customer/migrations"
	interactionmigrations "github.com/kehu-crm/kehu/services/interaction/migrations"
	servicedeskmigrations "github.com/kehu-crm/kehu/services/servicedesk/migrations"
)

// schemas are the suite's schemas, every one in each backup.
var schemas = []string{customermigrations.Schema, interactionmigrations.Schema, servicedeskmigrations.Schema, analyticsmigrations.Schema}

// runBackup writes one consistent archive of every service schema to
// --file (default kehu-<UTC time>.dump here; "-" for standard output).
func runBackup(ctx context.Context, args []string) error {
	fs := flag.NewFlagSet("backup", flag.ContinueOnError)
	file := fs.String("file", "kehu-"+time.Now().UTC().Format("20060102T150405Z")+".dump", `archive to write ("-" for standard output)`)
	if err := fs.Parse(args); err != nil {
		return fmt.Errorf("%w: %v", errUsage, err)
	}
	dbURL, err := databaseURL()
	if err != nil {
		return err
	}
	if *file == "-" {
		return backup.Dump(ctx, dbURL, schemas, os.Stdout)
	}
	// Written beside its final name and renamed when complete, so a file
	// under that name is always a whole archive.
	tmp, err := os.CreateTemp(filepath.Dir(*file), filepath.Base(*file)+".partial-*")
	if err != nil {
		return err
	}
	defer os.Remove(tmp.Name())
	if err := backup.Dump(ctx, dbURL, schemas, tmp); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Sync(); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Close(); err != nil {
		return err
	}
	if err := os.Rename(tmp.Name(), *file); err != nil {
		return err
	}
	info, err := os.Stat(*file)
	if err != nil {
		return err
	}
	logf("backed up %v to %s (%d bytes)", schemas, *file, info.Size())
	return nil
}

// runRestore replaces every service schema with an archive, then empties
// the services' Redis cache, which holds copies of what was replaced.
func runRestore(ctx context.Context, args []string) error {
	fs := flag.NewFlagSet("restore", flag.ContinueOnError)
	file := fs.String("file", "", `archive written by kehuctl backup ("-" for standard input)`)
	replace := fs.Bool("replace", false, "drop the data the database holds now")
	if err := fs.Parse(args); err != nil {
		return fmt.Errorf("%w: %v", errUsage, err)
	}
	if *file == "" {
		return fmt.Errorf("%w: restore needs --file", errUsage)
	}
	dbURL, err := databaseURL()
	if err != nil {
		return err
	}
	archive := *file
	if archive == "-" {
		// The archive is read twice (its table of contents is checked
		// first), so standard input goes to a file.
		tmp, err := os.CreateTemp("", "kehu-restore-*.dump")
		if err != nil {
			return err
		}
		defer os.Remove(tmp.Name())
		_, err = io.Copy(tmp, os.Stdin)
		if cerr := tmp.Close(); err == nil {
			err = cerr
		}
		if err != nil {
			return fmt.Errorf("reading the archive from standard input: %w", err)
		}
		archive = tmp.Name()
	}
	streams, err := backup.Restore(ctx, dbURL, schemas, archive, backup.RestoreOptions{Replace: *replace})
	if errors.Is(err, backup.ErrNotEmpty) {
		return fmt.Errorf("%w; --replace drops it", err)
	}
	if err != nil {
		return err
	}
	for _, s := range streams {
		line := fmt.Sprintf("%s: events up to %d", s.Schema, s.Head)
		for _, k := range slices.Sorted(maps.Keys(s.Cursors)) {
			line += fmt.Sprintf("; %s applied up to %d", k, s.Cursors[k])
		}
		logf("restored %s", line)
	}
	if redisURL := os.Getenv("KEHU_REDIS_URL"); redisURL != "" {
		n, err := cache.Clear(ctx, redisURL, kehuservice.CachePrefix)
		if err != nil {
			return fmt.Errorf("restored, but the cache could not be emptied (delete the keys %s* before starting the services): %w", kehuservice.CachePrefix, err)
		}
		logf("emptied the cache (%d keys)", n)
	}
	return nil
}

// databaseURL is KEHU_DATABASE_URL, which backup and restore require.
func databaseURL() (string, error) {
	u := os.Getenv("KEHU_DATABASE_URL")
	if u == "" {
		return "", fmt.Errorf("set KEHU_DATABASE_URL")
	}
	return u, nil
}
