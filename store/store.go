// Package store is opsdojo's persistence: GORM models and queries over SQLite
// (default, pure Go) or PostgreSQL. It is the only package that imports gorm.
// The schema is owned by goose migrations (package migrations).
//
// The domain packages own their types (accounts.User, attempts.Attempt,
// assignments.Invite, recording.Meta, audit.Event) and declare the small
// store interfaces they need; *Store implements them, keeping its GORM
// models private and mapping to and from the domain types (models.go).
// The store imports the domain packages for their types; none of them
// imports the store.
package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/glebarez/sqlite"
	"github.com/pressly/goose/v3"
	"gorm.io/driver/postgres"
	"gorm.io/gorm"
	"gorm.io/gorm/logger"

	"github.com/opsdojo/opsdojo/apperr"
	"github.com/opsdojo/opsdojo/ids"
	"github.com/opsdojo/opsdojo/migrations"
)

// Dialects the store speaks.
const (
	DialectSQLite   = "sqlite"
	DialectPostgres = "postgres"
)

// sqliteBusyTimeout is how long a writer waits for SQLite's lock before
// giving up with "database is locked".
const sqliteBusyTimeout = 5 * time.Second

// ErrNotFound is returned (wrapped) when a row does not exist. It carries
// apperr.NotFound, so the domain packages, which do not import the store,
// recognise it by its code: apperr.ErrorCode(err) == apperr.NotFound.
var ErrNotFound = apperr.New(apperr.NotFound, "not found")

// Options say where the database is.
type Options struct {
	// DB is a postgres:// URL, a sqlite:// path, or empty for the SQLite
	// file opsdojo.db under DataDir.
	DB      string
	DataDir string
	Logger  *slog.Logger
}

// Store is the database handle.
type Store struct {
	db      *gorm.DB
	sqlDB   *sql.DB
	dialect string
	log     *slog.Logger
	now     func() time.Time
}

// ConfigError is a configuration problem the user must fix (a malformed
// --db URL, an unwritable data dir); its message names the fix.
type ConfigError struct{ Msg string }

func (e *ConfigError) Error() string { return e.Msg }

// Target describes which database Options point at, without opening it.
type Target struct {
	Dialect string
	DSN     string // driver DSN
	Display string // safe to print: no password
}

// ResolveTarget validates opts.DB and returns the driver DSN.
func ResolveTarget(opts Options) (Target, error) {
	raw := strings.TrimSpace(opts.DB)
	switch {
	case raw == "":
		if opts.DataDir == "" {
			return Target{}, &ConfigError{"no database: set --db or --data-dir"}
		}
		return sqliteTarget(filepath.Join(opts.DataDir, "opsdojo.db"))
	case strings.HasPrefix(raw, "postgres://") || strings.HasPrefix(raw, "postgresql://"):
		u, err := url.Parse(raw)
		if err != nil {
			return Target{}, &ConfigError{fmt.Sprintf("--db %q is not a valid URL (%v); expected postgres://USER:PASSWORD@HOST:PORT/DBNAME?sslmode=disable", redact(raw), unwrapURLError(err))}
		}
		if u.Host == "" || strings.Trim(u.Path, "/") == "" {
			return Target{}, &ConfigError{fmt.Sprintf("--db %q needs a host and a database name; expected postgres://USER:PASSWORD@HOST:PORT/DBNAME?sslmode=disable", u.Redacted())}
		}
		return Target{Dialect: DialectPostgres, DSN: raw, Display: u.Redacted()}, nil
	case strings.HasPrefix(raw, "sqlite://"):
		p := strings.TrimPrefix(raw, "sqlite://")
		if p == "" {
			return Target{}, &ConfigError{"--db sqlite:// needs a file path, for example sqlite:///var/lib/opsdojo/opsdojo.db"}
		}
		return sqliteTarget(p)
	default:
		scheme := raw
		if i := strings.Index(raw, ":"); i > 0 {
			scheme = raw[:i]
		}
		return Target{}, &ConfigError{fmt.Sprintf("--db: unsupported database %q; use postgres://USER:PASSWORD@HOST:PORT/DBNAME, sqlite:///PATH, or leave it empty for SQLite under --data-dir", scheme)}
	}
}

func unwrapURLError(err error) error {
	var ue *url.Error
	if errors.As(err, &ue) {
		return ue.Err
	}
	return err
}

func redact(raw string) string {
	if u, err := url.Parse(raw); err == nil {
		return u.Redacted()
	}
	if i := strings.Index(raw, "@"); i > 0 {
		return "postgres://…" + raw[i:]
	}
	return raw
}

func sqliteTarget(path string) (Target, error) {
	q := url.Values{}
	for _, p := range []string{
		"journal_mode(WAL)",
		fmt.Sprintf("busy_timeout(%d)", sqliteBusyTimeout.Milliseconds()),
		"foreign_keys(1)",
		"synchronous(NORMAL)",
	} {
		q.Add("_pragma", p)
	}
	q.Set("_txlock", "immediate")
	return Target{Dialect: DialectSQLite, DSN: "file:" + path + "?" + q.Encode(), Display: path}, nil
}

// Open opens (and for SQLite creates) the database. It does not migrate.
func Open(ctx context.Context, opts Options) (*Store, error) {
	log := opts.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	t, err := ResolveTarget(opts)
	if err != nil {
		return nil, err
	}
	var dialector gorm.Dialector
	switch t.Dialect {
	case DialectSQLite:
		if err := ensureWritableDir(filepath.Dir(t.Display)); err != nil {
			return nil, err
		}
		dialector = sqlite.Open(t.DSN)
	case DialectPostgres:
		dialector = postgres.Open(t.DSN)
	}
	db, err := gorm.Open(dialector, &gorm.Config{
		Logger:                 logger.Discard,
		SkipDefaultTransaction: true,
		NowFunc:                func() time.Time { return time.Now().UTC() },
		TranslateError:         true,
	})
	if err != nil {
		return nil, fmt.Errorf("open %s database %s: %w", t.Dialect, t.Display, err)
	}
	sqlDB, err := db.DB()
	if err != nil {
		return nil, fmt.Errorf("open %s database: %w", t.Dialect, err)
	}
	if t.Dialect == DialectSQLite {
		// One writer at a time is SQLite's model; a small pool keeps
		// readers concurrent under WAL without lock storms.
		sqlDB.SetMaxOpenConns(4)
	} else {
		sqlDB.SetMaxOpenConns(20)
		sqlDB.SetConnMaxIdleTime(5 * time.Minute)
	}
	s := &Store{db: db, sqlDB: sqlDB, dialect: t.Dialect, log: log.With("component", "store"), now: func() time.Time { return time.Now().UTC() }}
	pctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	if err := s.Ping(pctx); err != nil {
		_ = sqlDB.Close()
		return nil, fmt.Errorf("connect to %s database %s: %w", t.Dialect, t.Display, err)
	}
	return s, nil
}

func ensureWritableDir(dir string) error {
	if err := os.MkdirAll(dir, 0o750); err != nil {
		return &ConfigError{fmt.Sprintf("data dir %s cannot be created (%v); choose another with --data-dir or fix its permissions", dir, unwrapPathError(err))}
	}
	probe, err := os.CreateTemp(dir, ".write-test-*")
	if err != nil {
		return &ConfigError{fmt.Sprintf("data dir %s is not writable (%v); choose another with --data-dir or fix its permissions", dir, unwrapPathError(err))}
	}
	name := probe.Name()
	_ = probe.Close()
	_ = os.Remove(name)
	return nil
}

func unwrapPathError(err error) error {
	var pe *fs.PathError
	if errors.As(err, &pe) {
		return pe.Err
	}
	return err
}

// Dialect is "sqlite" or "postgres".
func (s *Store) Dialect() string { return s.dialect }

// Ping checks the database answers.
func (s *Store) Ping(ctx context.Context) error {
	if err := s.sqlDB.PingContext(ctx); err != nil {
		return fmt.Errorf("ping database: %w", err)
	}
	return nil
}

// Close closes the database.
func (s *Store) Close() error { return s.sqlDB.Close() }

func (s *Store) gooseProvider() (*goose.Provider, error) {
	var (
		fsys    fs.FS
		dialect goose.Dialect
		err     error
	)
	switch s.dialect {
	case DialectSQLite:
		dialect = goose.DialectSQLite3
		fsys, err = fs.Sub(migrations.SQLite, "sqlite")
	default:
		dialect = goose.DialectPostgres
		fsys, err = fs.Sub(migrations.Postgres, "postgres")
	}
	if err != nil {
		return nil, fmt.Errorf("migrations: %w", err)
	}
	p, err := goose.NewProvider(dialect, s.sqlDB, fsys)
	if err != nil {
		return nil, fmt.Errorf("migrations: %w", err)
	}
	return p, nil
}

// MigrationState is one migration and whether it is applied.
type MigrationState struct {
	Version   int64
	Name      string
	Applied   bool
	AppliedAt time.Time
}

// Migrate applies every pending migration and returns those it applied.
func (s *Store) Migrate(ctx context.Context) ([]MigrationState, error) {
	p, err := s.gooseProvider()
	if err != nil {
		return nil, err
	}
	res, err := p.Up(ctx)
	if err != nil {
		return nil, fmt.Errorf("apply migrations: %w", err)
	}
	out := make([]MigrationState, 0, len(res))
	for _, r := range res {
		out = append(out, MigrationState{Version: r.Source.Version, Name: filepath.Base(r.Source.Path), Applied: true, AppliedAt: s.now()})
		s.log.Info("migration applied", "version", r.Source.Version, "file", filepath.Base(r.Source.Path), "took", r.Duration)
	}
	return out, nil
}

// MigrationStatus lists every known migration and whether it is applied.
func (s *Store) MigrationStatus(ctx context.Context) ([]MigrationState, error) {
	p, err := s.gooseProvider()
	if err != nil {
		return nil, err
	}
	st, err := p.Status(ctx)
	if err != nil {
		return nil, fmt.Errorf("migration status: %w", err)
	}
	out := make([]MigrationState, 0, len(st))
	for _, m := range st {
		out = append(out, MigrationState{Version: m.Source.Version, Name: filepath.Base(m.Source.Path), Applied: m.State == goose.StateApplied, AppliedAt: m.AppliedAt})
	}
	return out, nil
}

// NewID returns a random 128-bit identifier as 32 hex characters.
func NewID() string { return ids.New() }

// wrap maps gorm's not-found to ErrNotFound and names the operation.
func wrap(op string, err error) error {
	if err == nil {
		return nil
	}
	if errors.Is(err, gorm.ErrRecordNotFound) {
		return fmt.Errorf("%s: %w", op, ErrNotFound)
	}
	return fmt.Errorf("%s: %w", op, err)
}
