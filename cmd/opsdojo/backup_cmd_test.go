package main

import (
	"bytes"
	"context"
	"database/sql"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	_ "github.com/glebarez/go-sqlite"
	_ "github.com/jackc/pgx/v5/stdlib"

	"github.com/opsdojo/opsdojo/ids"
	"github.com/opsdojo/opsdojo/store/storetest"
)

// runIn runs the CLI with stdin and returns the exit code and both streams.
func runIn(t *testing.T, stdin string, args ...string) (int, string) {
	t.Helper()
	var out bytes.Buffer
	app := &cli{stdin: strings.NewReader(stdin), stdout: &out, stderr: &out, getenv: func(string) string { return "" }}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	return app.main(ctx, args), out.String()
}

// emptyPostgres creates a database dropped at cleanup and returns its URL.
func emptyPostgres(t *testing.T) string {
	t.Helper()
	admin := storetest.PostgresURL(t)
	db, err := sql.Open("pgx", admin)
	if err != nil {
		t.Fatal(err)
	}
	name := "opsdojo_cli_backup_" + strings.ReplaceAll(strings.ToLower(t.Name()), "/", "_")
	// Random, not a clock: the test makes two databases within one second.
	name = name[:min(len(name), 40)] + "_" + strings.ToLower(ids.New()[:12])
	if _, err := db.Exec("CREATE DATABASE " + name); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		_, _ = db.Exec("DROP DATABASE IF EXISTS " + name + " WITH (FORCE)")
		db.Close()
	})
	u, _ := url.Parse(admin)
	u.Path = "/" + name
	return u.String()
}

// TestBackupRestoreCommands: `opsdojo backup` of a data dir with an account
// and a recording, `opsdojo restore` into an empty one: the account logs
// in there (reset-password finds it), the recording is back; a second
// restore is refused without --force. On SQLite and PostgreSQL.
func TestBackupRestoreCommands(t *testing.T) {
	t.Parallel()
	for _, dialect := range []string{"sqlite", "postgres"} {
		t.Run(dialect, func(t *testing.T) {
			srcDir, dstDir := t.TempDir(), t.TempDir()
			var srcDB, dstDB []string
			if dialect == "postgres" {
				srcDB = []string{"--db", emptyPostgres(t)}
				dstDB = []string{"--db", emptyPostgres(t)}
			}
			src := append([]string{"--data-dir", srcDir, "--log-format", "text"}, srcDB...)
			dst := append([]string{"--data-dir", dstDir, "--log-format", "text"}, dstDB...)
			if code, out := runIn(t, "", append(append([]string{"migrate"}, src...), "up")...); code != 0 {
				t.Fatalf("migrate: %s", out)
			}
			if code, out := runIn(t, "a long password 1\n", append(append([]string{"user", "create"}, src...), "--role", "manager", "--email", "kim@example.com", "--password-stdin")...); code != 0 {
				t.Fatalf("user create: %s", out)
			}
			rec := filepath.Join(srcDir, "recordings", "att1", "1.cast.gz")
			_ = os.MkdirAll(filepath.Dir(rec), 0o750)
			if err := os.WriteFile(rec, []byte("cast"), 0o600); err != nil {
				t.Fatal(err)
			}
			archive := filepath.Join(t.TempDir(), "b.tar.gz")
			code, out := runIn(t, "", append(append([]string{"backup"}, src...), "--out", archive)...)
			if code != 0 || !strings.Contains(out, dialect+" database at schema version") {
				t.Fatalf("backup: %d %s", code, out)
			}
			if st, err := os.Stat(archive); err != nil || st.Mode().Perm() != 0o600 {
				t.Fatalf("archive %v mode %v, want 0600", err, st)
			}
			// Before the restore the account is unknown in dst.
			if code, _ := runIn(t, "", append(append([]string{"migrate"}, dst...), "up")...); code != 0 {
				t.Fatal("migrate dst")
			}
			if code, _ := runIn(t, "new password 22\n", append(append([]string{"user", "reset-password"}, dst...), "--password-stdin", "kim@example.com")...); code == 0 {
				t.Fatal("reset-password found the account before the restore")
			}
			if code, out := runIn(t, "", append(append([]string{"restore"}, dst...), archive)...); code != 0 {
				t.Fatalf("restore: %d %s", code, out)
			}
			if code, out := runIn(t, "new password 22\n", append(append([]string{"user", "reset-password"}, dst...), "--password-stdin", "kim@example.com")...); code != 0 {
				t.Fatalf("reset-password after restore: %d %s", code, out)
			}
			if b, err := os.ReadFile(filepath.Join(dstDir, "recordings", "att1", "1.cast.gz")); err != nil || string(b) != "cast" {
				t.Errorf("recording after restore: %q %v", b, err)
			}
			code, out = runIn(t, "", append(append([]string{"restore"}, dst...), archive)...)
			if code == 0 || !strings.Contains(out, "not empty") || !strings.Contains(out, "--force") {
				t.Errorf("second restore without --force: %d %s", code, out)
			}
			if code, out := runIn(t, "", append(append([]string{"restore"}, dst...), archive, "--force")...); code != 0 {
				t.Errorf("restore --force: %d %s", code, out)
			}
		})
	}
}

// TestBackupWhileServing: `opsdojo backup` of the data dir of a running
// server (SQLite in WAL mode, the server holding it open, a practice
// attempt just started) restores into a working data dir with that
// attempt's row.
func TestBackupWhileServing(t *testing.T) {
	t.Parallel()
	srv := startServer(t, "testdata/challenges")
	cl := newClient(t, srv.URL)
	cl.login("admin@opsdojo.local", "admin password 1")
	var started struct {
		Attempt struct{ ID string } `json:"attempt"`
	}
	if code := cl.json("POST", "/api/v1/challenges/edit-config/attempts", nil, &started); code != 201 {
		t.Fatalf("start: %d", code)
	}
	archive := filepath.Join(t.TempDir(), "live.tar.gz")
	if code, out := runIn(t, "", "backup", "--data-dir", srv.DataDir, "--out", archive); code != 0 {
		t.Fatalf("backup of a live server: %d %s", code, out)
	}
	dst := t.TempDir()
	if code, out := runIn(t, "", "restore", "--data-dir", dst, archive); code != 0 {
		t.Fatalf("restore: %d %s", code, out)
	}
	db, err := sql.Open("sqlite", filepath.Join(dst, "opsdojo.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	var state string
	if err := db.QueryRow("SELECT state FROM attempts WHERE id = ?", started.Attempt.ID).Scan(&state); err != nil || state != "active" {
		t.Fatalf("attempt %s in the restored database: state %q, %v", started.Attempt.ID, state, err)
	}
	if code, out := runIn(t, "another password 3\n", "user", "reset-password", "--data-dir", dst, "--password-stdin", "admin@opsdojo.local"); code != 0 {
		t.Fatalf("admin in the restored database: %d %s", code, out)
	}
}
