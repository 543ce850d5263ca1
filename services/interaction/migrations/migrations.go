// Package migrations embeds the interaction service's versioned SQL
// migrations, applied in the "interaction" schema under an advisory lock.
package migrations

import "embed"

// Schema is the PostgreSQL schema the interaction service owns.
const Schema = "interaction"

// FS holds the NNNN_description.sql files.
//
//go:embed *.sql
var FS embed.FS
