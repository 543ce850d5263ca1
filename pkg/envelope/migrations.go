package envelope

import (
	"embed"

	"github.com/kehu-crm/kehu/pkg/pg"
)

//go:embed migrations/*.sql
var migrationFiles embed.FS

// Migrations create the data_keys table in the schema of a service that
// encrypts personal fields; it applies them beside its own (see pg.Migrate).
var Migrations = pg.Source{Name: "envelope", FS: pg.Sub(migrationFiles, "migrations")}
