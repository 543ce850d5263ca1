// Package migrations embeds the customer service's versioned SQL migrations.
// They run in the "customer" schema (search_path is set by the migrator), in
// file-number order, each once, under an advisory lock.
package migrations

import (
	"embed"

	"github.com/kehu-crm/kehu/pkg/audit"
	"github.com/kehu-crm/kehu/pkg/envelope"
	"github.com/kehu-crm/kehu/pkg/idempotency/keystore"
	"github.com/kehu-crm/kehu/pkg/outbox"
	"github.com/kehu-crm/kehu/pkg/pg"
)

// Schema is the PostgreSQL schema the customer service owns.
const Schema = "customer"

// files holds the NNNN_description.sql files.
//
//go:embed *.sql
var files embed.FS

// All are the customer schema's migrations: the service's own, then the
// platform tables it writes (outbox, idempotency keys, data keys). The platform's come
// last because 0001 created those tables before the platform owned them.
//
// Every service shares the audit trail's schema (package audit).
var All = pg.Migrations{Schema: Schema, Sources: []pg.Source{{FS: files}, outbox.Migrations, keystore.Migrations, envelope.Migrations}, Shared: []pg.Migrations{audit.Migrations}}
