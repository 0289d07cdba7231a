// Package migrations holds the database schema as goose SQL migrations, one
// folder per dialect with the same version numbers. The schema changes only
// through these files; store.Migrate applies them.
package migrations

import "embed"

// SQLite and Postgres are the migration folders, embedded in the binary.
//
//go:embed sqlite/*.sql
var SQLite embed.FS

//go:embed postgres/*.sql
var Postgres embed.FS
