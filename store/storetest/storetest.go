// Package storetest opens real, migrated databases for tests: a SQLite file
// in a temp dir, and a fresh PostgreSQL database per test when
// OPSDOJO_TEST_POSTGRES_URL is set. With CI=true a missing PostgreSQL fails
// the test instead of skipping it.
package storetest

import (
	"context"
	"database/sql"
	"fmt"
	"net/url"
	"os"
	"strings"
	"testing"
	"time"

	_ "github.com/jackc/pgx/v5/stdlib" // database/sql driver for admin statements

	"github.com/opsdojo/opsdojo/store"
)

// Store is the store tests hold: packages outside the store (server's
// tests) name it through storetest and never import store themselves.
type Store = store.Store

// DefaultPostgresURL is the role scripts/setup-host.sh creates.
const DefaultPostgresURL = "postgres://opsdojo:opsdojo@127.0.0.1:5432/opsdojo?sslmode=disable"

// The dialects by name, for tests that pick one.
const (
	SQLite   = store.DialectSQLite
	Postgres = store.DialectPostgres
)

// Dialects to run a test on.
var Dialects = []string{store.DialectSQLite, store.DialectPostgres}

// Open returns a migrated store of the given dialect, closed at cleanup.
func Open(t testing.TB, dialect string) *store.Store {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	var opts store.Options
	switch dialect {
	case store.DialectSQLite:
		opts = store.Options{DataDir: t.TempDir()}
	case store.DialectPostgres:
		opts = store.Options{DB: freshPostgres(t, ctx)}
	default:
		t.Fatalf("unknown dialect %q", dialect)
	}
	s, err := store.Open(ctx, opts)
	if err != nil {
		t.Fatalf("open %s store: %v", dialect, err)
	}
	t.Cleanup(func() { _ = s.Close() })
	if _, err := s.Migrate(ctx); err != nil {
		t.Fatalf("migrate %s: %v", dialect, err)
	}
	return s
}

// PostgresURL returns the admin URL for tests, skipping (or failing in CI)
// when PostgreSQL does not answer.
func PostgresURL(t testing.TB) string {
	t.Helper()
	u := os.Getenv("OPSDOJO_TEST_POSTGRES_URL")
	if u == "" {
		u = DefaultPostgresURL
	}
	db, err := sql.Open("pgx", u)
	if err == nil {
		ctx, cancel := context.WithTimeout(context.Background(), 3*time.Second)
		err = db.PingContext(ctx)
		cancel()
		_ = db.Close()
	}
	if err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatalf("PostgreSQL at %s is required in CI (run scripts/setup-host.sh): %v", redacted(u), err)
		}
		t.Skipf("PostgreSQL not reachable at %s (run scripts/setup-host.sh or set OPSDOJO_TEST_POSTGRES_URL): %v", redacted(u), err)
	}
	return u
}

func redacted(u string) string {
	if p, err := url.Parse(u); err == nil {
		return p.Redacted()
	}
	return "(unparsable url)"
}

// freshPostgres creates a new database for this test and drops it after.
func freshPostgres(t testing.TB, ctx context.Context) string {
	t.Helper()
	admin := PostgresURL(t)
	db, err := sql.Open("pgx", admin)
	if err != nil {
		t.Fatalf("postgres: %v", err)
	}
	name := fmt.Sprintf("opsdojo_test_%s", store.NewID()[:16])
	if _, err := db.ExecContext(ctx, "CREATE DATABASE "+name); err != nil {
		t.Fatalf("create database %s: %v", name, err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		_, _ = db.ExecContext(ctx, "DROP DATABASE IF EXISTS "+name+" WITH (FORCE)")
		_ = db.Close()
	})
	u, _ := url.Parse(admin)
	u.Path = "/" + name
	if !strings.Contains(u.RawQuery, "sslmode") {
		q := u.Query()
		q.Set("sslmode", "disable")
		u.RawQuery = q.Encode()
	}
	return u.String()
}
