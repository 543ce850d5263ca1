// Package migrations embeds the customer service's versioned SQL migrations.
// They run in the "customer" schema (search_path is set by the migrator), in
// file-number order, each once, under an advisory lock.
package migrations

import "embed"

// Schema is the PostgreSQL schema the customer service owns.
const Schema = "customer"

// FS holds the NNNN_description.sql files.
//
//go:embed *.sql
var FS embed.FS
