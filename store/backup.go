package store

// Database snapshots for `opsdojo backup` and `opsdojo restore`.
//
// SQLite: VACUUM INTO writes a consistent copy of the live database (one
// read transaction, WAL contents included) while the server keeps serving.
// PostgreSQL: pg_dump in its custom format (a consistent snapshot by MVCC),
// restored with pg_restore; both binaries must be on PATH. The archive
// around the snapshot (manifest, recordings, uploads) is backup_archive.go.

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"io/fs"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strconv"
	"strings"

	_ "github.com/glebarez/go-sqlite" // database/sql driver "sqlite" for checking a staged snapshot
	"gorm.io/driver/postgres"

	"github.com/opsdojo/opsdojo/migrations"
)

// Snapshot file names inside the archive's database/ folder.
const (
	snapshotSQLite   = "opsdojo.db"
	snapshotPostgres = "opsdojo.pgdump"
)

// ErrNotEmpty is returned by a restore into a database (or directory) that
// already holds data, unless forced.
var ErrNotEmpty = errors.New("restore target is not empty")

// ErrToolMissing is returned when pg_dump or pg_restore is not installed.
var ErrToolMissing = errors.New("PostgreSQL client tool missing")

// snapshot writes a consistent copy of the database into dir and returns
// its file name (relative to dir).
func (s *Store) snapshot(ctx context.Context, dir string) (string, error) {
	switch s.dialect {
	case DialectSQLite:
		out := filepath.Join(dir, snapshotSQLite)
		if _, err := s.sqlDB.ExecContext(ctx, "VACUUM INTO ?", out); err != nil {
			return "", fmt.Errorf("sqlite online backup (VACUUM INTO %s): %w", out, err)
		}
		return snapshotSQLite, nil
	case DialectPostgres:
		out := filepath.Join(dir, snapshotPostgres)
		dsn, err := s.postgresDSN()
		if err != nil {
			return "", err
		}
		if err := runPGTool(ctx, "pg_dump", dsn, "--format=custom", "--no-owner", "--no-privileges", "--file="+out); err != nil {
			return "", err
		}
		return snapshotPostgres, nil
	}
	return "", fmt.Errorf("snapshot: unknown dialect %q", s.dialect)
}

// postgresDSN is the URL the store was opened with (pg_dump needs it).
func (s *Store) postgresDSN() (string, error) {
	if d, ok := s.db.Dialector.(*postgres.Dialector); ok && d.Config != nil && d.DSN != "" {
		return d.DSN, nil
	}
	return "", errors.New("backup: the PostgreSQL store was not opened from a URL")
}

// SchemaVersion is the highest applied migration of the open database.
func (s *Store) SchemaVersion(ctx context.Context) (int64, error) {
	return gooseVersion(ctx, s.sqlDB)
}

func gooseVersion(ctx context.Context, db *sql.DB) (int64, error) {
	var v sql.NullInt64
	if err := db.QueryRowContext(ctx, "SELECT MAX(version_id) FROM goose_db_version WHERE is_applied").Scan(&v); err != nil {
		return 0, fmt.Errorf("read schema version (goose_db_version): %w", err)
	}
	return v.Int64, nil
}

// LatestSchemaVersion is the newest migration this binary knows for dialect.
func LatestSchemaVersion(dialect string) (int64, error) {
	fsys, dir := fs.FS(migrations.SQLite), "sqlite"
	if dialect == DialectPostgres {
		fsys, dir = migrations.Postgres, "postgres"
	}
	ents, err := fs.ReadDir(fsys, dir)
	if err != nil {
		return 0, fmt.Errorf("list migrations: %w", err)
	}
	var latest int64
	for _, e := range ents {
		num, _, ok := strings.Cut(e.Name(), "_")
		if !ok {
			continue
		}
		if v, err := strconv.ParseInt(num, 10, 64); err == nil && v > latest {
			latest = v
		}
	}
	return latest, nil
}

// nonEmptyTables lists the application tables of db that hold rows
// (goose's own table does not count).
func nonEmptyTables(ctx context.Context, db *sql.DB, dialect string) ([]string, error) {
	q := "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%'"
	if dialect == DialectPostgres {
		q = "SELECT tablename FROM pg_tables WHERE schemaname = current_schema()"
	}
	rows, err := db.QueryContext(ctx, q)
	if err != nil {
		return nil, fmt.Errorf("list tables: %w", err)
	}
	var tables []string
	for rows.Next() {
		var t string
		if err := rows.Scan(&t); err != nil {
			_ = rows.Close()
			return nil, fmt.Errorf("list tables: %w", err)
		}
		if t != "goose_db_version" {
			tables = append(tables, t)
		}
	}
	_ = rows.Close()
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("list tables: %w", err)
	}
	sort.Strings(tables)
	var full []string
	for _, t := range tables {
		var one int
		err := db.QueryRowContext(ctx, `SELECT 1 FROM "`+strings.ReplaceAll(t, `"`, `""`)+`" LIMIT 1`).Scan(&one)
		switch {
		case errors.Is(err, sql.ErrNoRows):
		case err != nil:
			return nil, fmt.Errorf("count rows of %s: %w", t, err)
		default:
			full = append(full, t)
		}
	}
	return full, nil
}

// checkSQLiteSnapshot checks a staged SQLite snapshot is intact and at the
// schema version its manifest says.
func checkSQLiteSnapshot(ctx context.Context, path string, wantVersion int64) error {
	db, err := sql.Open("sqlite", "file:"+path)
	if err != nil {
		return fmt.Errorf("open snapshot %s: %w", path, err)
	}
	defer db.Close()
	var res string
	if err := db.QueryRowContext(ctx, "PRAGMA integrity_check").Scan(&res); err != nil {
		return fmt.Errorf("check snapshot %s: %w", path, err)
	}
	if res != "ok" {
		return fmt.Errorf("snapshot %s is damaged: integrity_check says %q", path, res)
	}
	v, err := gooseVersion(ctx, db)
	if err != nil {
		return fmt.Errorf("snapshot %s: %w", path, err)
	}
	if v != wantVersion {
		return fmt.Errorf("snapshot %s is at schema version %d but the manifest says %d", path, v, wantVersion)
	}
	return nil
}

// restoreDatabase loads the staged snapshot into t. The caller has checked
// the target is empty (or that the restore is forced) and closed any
// store it opened on it.
func restoreDatabase(ctx context.Context, t Target, staged string) error {
	switch t.Dialect {
	case DialectSQLite:
		dst := t.Display
		// The old database goes away whole: its WAL and shared-memory
		// files would otherwise be replayed over the restored one.
		for _, suffix := range []string{"-wal", "-shm", "-journal"} {
			if err := os.Remove(dst + suffix); err != nil && !errors.Is(err, fs.ErrNotExist) {
				return fmt.Errorf("remove %s%s: %w", dst, suffix, err)
			}
		}
		if err := os.Rename(staged, dst); err != nil {
			return fmt.Errorf("move restored database to %s: %w", dst, err)
		}
		return nil
	case DialectPostgres:
		// --clean --if-exists drops what the target has of the same
		// objects (tables an empty `migrate up` made, or the old data when
		// forced); --single-transaction: all or nothing.
		return runPGTool(ctx, "pg_restore", t.DSN, "--clean", "--if-exists", "--no-owner", "--no-privileges",
			"--single-transaction", "--exit-on-error", staged)
	}
	return fmt.Errorf("restore: unknown dialect %q", t.Dialect)
}

// runPGTool runs pg_dump or pg_restore against the database at dsn. The
// password travels in PGPASSWORD, not on the command line (which other
// users of the host can read).
func runPGTool(ctx context.Context, tool, dsn string, args ...string) error {
	bin, err := exec.LookPath(tool)
	if err != nil {
		return fmt.Errorf("%w: %s is not on PATH; install the PostgreSQL client of the server's major version (Debian: apt-get install postgresql-client)", ErrToolMissing, tool)
	}
	u, err := url.Parse(dsn)
	if err != nil {
		return fmt.Errorf("%s: database URL: %w", tool, err)
	}
	env := os.Environ()
	if u.User != nil {
		if pw, ok := u.User.Password(); ok {
			env = append(env, "PGPASSWORD="+pw)
			u.User = url.User(u.User.Username())
		}
	}
	cmd := exec.CommandContext(ctx, bin, append([]string{"--dbname=" + u.String()}, args...)...)
	cmd.Env = env
	out, err := cmd.CombinedOutput()
	if err != nil {
		msg := strings.TrimSpace(string(out))
		if len(msg) > 2000 {
			msg = msg[:2000] + "…"
		}
		return fmt.Errorf("%s on %s: %w: %s", tool, u.Redacted(), err, msg)
	}
	return nil
}
