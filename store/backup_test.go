package store_test

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"testing"
	"time"

	_ "github.com/glebarez/go-sqlite"
	_ "github.com/jackc/pgx/v5/stdlib"

	"github.com/opsdojo/opsdojo/store"
	"github.com/opsdojo/opsdojo/store/storetest"
)

// backupSide is one database plus data directory of a backup test.
type backupSide struct {
	opts    store.Options
	raw     *sql.DB // plain database/sql handle for inserting and dumping
	driver  string
	dsn     string
	dialect string
	dirs    map[string]string
}

func newBackupSide(t *testing.T, ctx context.Context, dialect string) *backupSide {
	t.Helper()
	dir := t.TempDir()
	s := &backupSide{dialect: dialect, dirs: map[string]string{
		"recordings": filepath.Join(dir, "recordings"), "uploads": filepath.Join(dir, "challenges"),
	}}
	var dsn, driver string
	switch dialect {
	case store.DialectSQLite:
		s.opts = store.Options{DataDir: dir}
		dsn, driver = "file:"+filepath.Join(dir, "opsdojo.db")+"?_pragma=busy_timeout(5000)", "sqlite"
	case store.DialectPostgres:
		dsn, driver = freshDatabase(t, ctx), "pgx"
		s.opts = store.Options{DB: dsn}
	}
	s.driver, s.dsn = driver, dsn
	s.reconnect(t)
	return s
}

// reconnect opens a new handle: a SQLite restore replaces the database
// file, which connections opened before it no longer see.
func (s *backupSide) reconnect(t *testing.T) {
	t.Helper()
	if s.raw != nil {
		_ = s.raw.Close()
	}
	raw, err := sql.Open(s.driver, s.dsn)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = raw.Close() })
	s.raw = raw
}

// freshDatabase creates an empty PostgreSQL database dropped at cleanup.
func freshDatabase(t *testing.T, ctx context.Context) string {
	t.Helper()
	admin := storetest.PostgresURL(t)
	db, err := sql.Open("pgx", admin)
	if err != nil {
		t.Fatal(err)
	}
	var rnd [6]byte
	_, _ = rand.Read(rnd[:])
	name := "opsdojo_backup_" + hex.EncodeToString(rnd[:])
	if _, err := db.ExecContext(ctx, "CREATE DATABASE "+name); err != nil {
		t.Fatalf("create database: %v", err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		_, _ = db.ExecContext(ctx, "DROP DATABASE IF EXISTS "+name+" WITH (FORCE)")
		_ = db.Close()
	})
	u, _ := url.Parse(admin)
	u.Path = "/" + name
	return u.String()
}

// seed inserts users, an attempt and its recording (row and file), and an
// uploaded challenge.
func (s backupSide) seed(t *testing.T, ctx context.Context) {
	t.Helper()
	now := time.Date(2026, 11, 29, 12, 0, 0, 0, time.UTC)
	for _, q := range []struct {
		sql  string
		args []any
	}{
		{"INSERT INTO users (id, email, name, role, password_hash, created_at, updated_at) VALUES ($1, $2, $3, $4, $5, $6, $7)",
			[]any{"u1", "ada@example.com", "Ada", "candidate", "$argon2id$v=19$m=65536,t=1,p=4$c2FsdA$aGFzaA", now, now}},
		{"INSERT INTO users (id, email, name, role, password_hash, created_at, updated_at) VALUES ($1, $2, $3, $4, $5, $6, $7)",
			[]any{"u2", "boss@example.com", "Grace", "manager", "", now, now}},
		{"INSERT INTO attempts (id, user_id, challenge_id, challenge_version, mode, state, seed, score, max_score, started_at, ended_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)",
			[]any{"a1", "u1", "nginx-bad-upstream", "v1hash", "practice", "submitted", 42, 60, 100, now, now.Add(20 * time.Minute)}},
		{"INSERT INTO recordings (id, attempt_id, terminal, path, bytes, events, started_at, ended_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
			[]any{"r1", "a1", "1", "a1/1.cast.gz", 11, 3, now, now.Add(time.Minute)}},
	} {
		if _, err := s.exec(ctx, q.sql, q.args...); err != nil {
			t.Fatalf("seed %s: %v", strings.Fields(q.sql)[2], err)
		}
	}
	writeFile(t, filepath.Join(s.dirs["recordings"], "a1", "1.cast.gz"), "recording bytes")
	writeFile(t, filepath.Join(s.dirs["uploads"], "my-lab", "challenge.yaml"), "id: my-lab\n")
}

var placeholder = regexp.MustCompile(`\$[0-9]+`)

// exec runs a statement written with $n placeholders (each used once, in
// order) on either dialect.
func (s backupSide) exec(ctx context.Context, q string, args ...any) (sql.Result, error) {
	if s.dialect == store.DialectSQLite {
		q = placeholder.ReplaceAllString(q, "?")
	}
	return s.raw.ExecContext(ctx, q, args...)
}

func writeFile(t *testing.T, p, content string) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(p), 0o750); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(p, []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
}

// dump returns every row of every application table, one sorted line per
// row, for comparing two databases of the same dialect.
func (s backupSide) dump(t *testing.T, ctx context.Context) []string {
	t.Helper()
	q := "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%' AND name != 'goose_db_version'"
	if s.dialect == store.DialectPostgres {
		q = "SELECT tablename FROM pg_tables WHERE schemaname = current_schema() AND tablename != 'goose_db_version'"
	}
	rows, err := s.raw.QueryContext(ctx, q)
	if err != nil {
		t.Fatal(err)
	}
	var tables []string
	for rows.Next() {
		var n string
		if err := rows.Scan(&n); err != nil {
			t.Fatal(err)
		}
		tables = append(tables, n)
	}
	rows.Close()
	var out []string
	for _, tbl := range tables {
		rs, err := s.raw.QueryContext(ctx, "SELECT * FROM "+tbl)
		if err != nil {
			t.Fatalf("dump %s: %v", tbl, err)
		}
		cols, _ := rs.Columns()
		for rs.Next() {
			vals := make([]any, len(cols))
			ptrs := make([]any, len(cols))
			for i := range vals {
				ptrs[i] = &vals[i]
			}
			if err := rs.Scan(ptrs...); err != nil {
				t.Fatal(err)
			}
			var b strings.Builder
			b.WriteString(tbl)
			for i, v := range vals {
				if bs, ok := v.([]byte); ok {
					v = string(bs)
				}
				fmt.Fprintf(&b, " %s=%v", cols[i], v)
			}
			out = append(out, b.String())
		}
		rs.Close()
	}
	sort.Strings(out)
	return out
}

func (s backupSide) open(t *testing.T, ctx context.Context) *store.Store {
	t.Helper()
	st, err := store.Open(ctx, s.opts)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := st.Migrate(ctx); err != nil {
		t.Fatal(err)
	}
	return st
}

// TestBackupRestore backs up a live store (open, just written to) with
// users, an attempt and a recording, restores it into an empty database and
// data directory, and compares every row and file; a second restore over
// the data is refused without Force; rows written after the backup are not
// in it.
func TestBackupRestore(t *testing.T) {
	for _, dialect := range storetest.Dialects {
		t.Run(dialect, func(t *testing.T) {
			ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
			defer cancel()
			src := newBackupSide(t, ctx, dialect)
			st := src.open(t, ctx)
			defer st.Close()
			src.seed(t, ctx)
			want := src.dump(t, ctx)

			var archive bytes.Buffer
			m, err := st.Backup(ctx, &archive, store.BackupOptions{Dirs: src.dirs, Version: "test"})
			if err != nil {
				t.Fatalf("backup: %v", err)
			}
			if m.Dialect != dialect || m.SchemaVersion == 0 || len(m.Files) != 3 {
				t.Fatalf("manifest = %+v; want dialect %s, a schema version and 3 files (database, recording, upload)", m, dialect)
			}
			// Written after the snapshot: must not be restored.
			late := time.Now().UTC()
			if _, err := src.exec(ctx, "INSERT INTO users (id, email, role, created_at, updated_at) VALUES ('late', 'late@example.com', 'candidate', $1, $2)", late, late); err != nil {
				t.Fatal(err)
			}

			dst := newBackupSide(t, ctx, dialect)
			if dialect == store.DialectPostgres {
				// A target someone already ran `migrate up` on: empty
				// tables are not data.
				dst.open(t, ctx).Close()
			}
			got, err := store.Restore(ctx, bytes.NewReader(archive.Bytes()), dst.opts, store.RestoreOptions{Dirs: dst.dirs})
			if err != nil {
				t.Fatalf("restore into an empty target: %v", err)
			}
			dst.reconnect(t)
			if got.SchemaVersion != m.SchemaVersion {
				t.Errorf("restored manifest schema %d, want %d", got.SchemaVersion, m.SchemaVersion)
			}
			if have := dst.dump(t, ctx); strings.Join(have, "\n") != strings.Join(want, "\n") {
				t.Errorf("restored rows differ\n got:\n%s\nwant:\n%s", strings.Join(have, "\n"), strings.Join(want, "\n"))
			}
			for folder, rel := range map[string]string{"recordings": "a1/1.cast.gz", "uploads": "my-lab/challenge.yaml"} {
				a, _ := os.ReadFile(filepath.Join(src.dirs[folder], rel))
				b, err := os.ReadFile(filepath.Join(dst.dirs[folder], rel))
				if err != nil || !bytes.Equal(a, b) {
					t.Errorf("%s/%s restored as %q (%v), want %q", folder, rel, b, err, a)
				}
			}
			// The restored store opens and is at this binary's schema.
			rs := dst.open(t, ctx)
			if diffs, err := rs.SchemaDrift(ctx); err != nil || len(diffs) > 0 {
				t.Errorf("restored schema drift: %v %v", diffs, err)
			}
			rs.Close()

			_, err = store.Restore(ctx, bytes.NewReader(archive.Bytes()), dst.opts, store.RestoreOptions{Dirs: dst.dirs})
			if !errors.Is(err, store.ErrNotEmpty) {
				t.Fatalf("restore over data without force: err = %v, want ErrNotEmpty", err)
			}
			// Forced: the target's own rows go, the backup's come back.
			if _, err := dst.raw.ExecContext(ctx, "DELETE FROM recordings"); err != nil {
				t.Fatal(err)
			}
			if _, err := store.Restore(ctx, bytes.NewReader(archive.Bytes()), dst.opts, store.RestoreOptions{Dirs: dst.dirs, Force: true}); err != nil {
				t.Fatalf("forced restore: %v", err)
			}
			dst.reconnect(t)
			if have := dst.dump(t, ctx); strings.Join(have, "\n") != strings.Join(want, "\n") {
				t.Errorf("rows after forced restore differ\n got:\n%s\nwant:\n%s", strings.Join(have, "\n"), strings.Join(want, "\n"))
			}
		})
	}
}

// TestRestoreRefusesAlteredArchive: a file whose bytes do not match the
// manifest stops the restore before the target is touched.
func TestRestoreRefusesAlteredArchive(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	src := newBackupSide(t, ctx, store.DialectSQLite)
	st := src.open(t, ctx)
	defer st.Close()
	src.seed(t, ctx)
	var archive bytes.Buffer
	if _, err := st.Backup(ctx, &archive, store.BackupOptions{Dirs: src.dirs, Version: "test"}); err != nil {
		t.Fatal(err)
	}
	altered := rewriteArchive(t, archive.Bytes(), "recordings/a1/1.cast.gz", []byte("forged bytes!!"))
	dst := newBackupSide(t, ctx, store.DialectSQLite)
	_, err := store.Restore(ctx, bytes.NewReader(altered), dst.opts, store.RestoreOptions{Dirs: dst.dirs})
	if err == nil || !strings.Contains(err.Error(), "checksum mismatch") || !strings.Contains(err.Error(), "recordings/a1/1.cast.gz") {
		t.Fatalf("restore of an altered archive: err = %v, want a checksum mismatch naming the file", err)
	}
	if _, err := os.Stat(filepath.Join(dst.dirs["recordings"], "a1")); err == nil {
		t.Error("the refused restore wrote recordings")
	}
}

// rewriteArchive returns archive with the content of name replaced.
func rewriteArchive(t *testing.T, archive []byte, name string, content []byte) []byte {
	t.Helper()
	gz, err := gzip.NewReader(bytes.NewReader(archive))
	if err != nil {
		t.Fatal(err)
	}
	tr := tar.NewReader(gz)
	var out bytes.Buffer
	gw := gzip.NewWriter(&out)
	tw := tar.NewWriter(gw)
	found := false
	for {
		hdr, err := tr.Next()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(tr)
		if hdr.Name == name {
			body, found = content, true
			hdr.Size = int64(len(body))
		}
		if err := tw.WriteHeader(hdr); err != nil {
			t.Fatal(err)
		}
		_, _ = tw.Write(body)
	}
	if !found {
		t.Fatalf("%s not in the archive", name)
	}
	tw.Close()
	gw.Close()
	return out.Bytes()
}

// TestBackupWithoutPgDump: a PostgreSQL backup on a host without pg_dump
// fails with ErrToolMissing and says what to install.
func TestBackupWithoutPgDump(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	st := storetest.Open(t, store.DialectPostgres)
	t.Setenv("PATH", t.TempDir())
	_, err := st.Backup(ctx, io.Discard, store.BackupOptions{})
	if !errors.Is(err, store.ErrToolMissing) || !strings.Contains(err.Error(), "pg_dump") || !strings.Contains(err.Error(), "postgresql-client") {
		t.Fatalf("backup without pg_dump: %v", err)
	}
}
