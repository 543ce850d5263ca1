package outbox

import (
	"embed"

	"github.com/kehu-crm/kehu/pkg/pg"
)

//go:embed migrations/*.sql
var migrationFiles embed.FS

// Migrations create the outbox table in a service's schema. Every service
// that writes events applies them after its own (see pg.Migrate).
var Migrations = pg.Source{Name: "outbox", FS: pg.Sub(migrationFiles, "migrations")}
