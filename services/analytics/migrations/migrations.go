// Package migrations embeds the analytics service's versioned SQL
// migrations. They run in the "analytics" schema (search_path is set by the
// migrator), in file-number order, each once, under an advisory lock.
package migrations

import (
	"embed"

	"github.com/kehu-crm/kehu/pkg/audit"
	"github.com/kehu-crm/kehu/pkg/customerref/erased"
	"github.com/kehu-crm/kehu/pkg/envelope"
	"github.com/kehu-crm/kehu/pkg/follow/cursor"
	"github.com/kehu-crm/kehu/pkg/idempotency/keystore"
	"github.com/kehu-crm/kehu/pkg/outbox"
	"github.com/kehu-crm/kehu/pkg/pg"
)

// Schema is the PostgreSQL schema the analytics service owns.
const Schema = "analytics"

// files holds the NNNN_description.sql files.
//
//go:embed *.sql
var files embed.FS

// All are the analytics schema's migrations: its own, then the platform
// tables every service has (outbox, idempotency keys), the event cursors
// of the streams it follows, the customers erased meanwhile (which
// webhook deliveries must not carry) and the data keys that seal the
// webhook delivery log's bodies.
//
// Every service shares the audit trail's schema (package audit).
var All = pg.Migrations{Schema: Schema, Sources: []pg.Source{{FS: files}, outbox.Migrations, keystore.Migrations, cursor.Migrations, erased.Migrations, envelope.Migrations}, Shared: []pg.Migrations{audit.Migrations}}
