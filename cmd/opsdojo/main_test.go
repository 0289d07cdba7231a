package main

import (
	"bytes"
	"context"
	"net"
	"strings"
	"testing"
	"time"
)

// run runs the CLI in-process with env and returns exit code and streams.
func run(t *testing.T, env map[string]string, args ...string) (int, string, string) {
	t.Helper()
	var out, errb bytes.Buffer
	app := &cli{stdin: strings.NewReader(""), stdout: &out, stderr: &errb, getenv: func(k string) string { return env[k] }}
	ctx, cancel := context.WithTimeout(context.Background(), 4*time.Minute)
	defer cancel()
	code := app.main(ctx, args)
	return code, out.String(), errb.String()
}

func TestServeBadInputGivesOneClearLine(t *testing.T) {
	t.Parallel()
	busy, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { busy.Close() })
	cases := []struct {
		name string
		env  map[string]string
		args []string
		want string
	}{
		{"malformed db url", nil, []string{"serve", "--db", "postgres://u:hunter2@/"}, "needs a host and a database name"},
		{"unsupported db", nil, []string{"serve", "--db", "mysql://x"}, `unsupported database "mysql"`},
		{"unwritable data dir", nil, []string{"serve", "--data-dir", "/proc/opsdojo"}, "fix its permissions"},
		{"port in use", nil, []string{"serve", "--data-dir", t.TempDir(), "--addr", busy.Addr().String()}, "already in use"},
		{"bad env duration", map[string]string{"OPSDOJO_SHUTDOWN_TIMEOUT": "soon"}, []string{"serve"}, "OPSDOJO_SHUTDOWN_TIMEOUT=\"soon\" is not a duration"},
		{"bad log format", nil, []string{"serve", "--data-dir", t.TempDir(), "--log-format", "xml"}, "--log-format"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			code, _, stderr := run(t, tc.env, tc.args...)
			if code == 0 {
				t.Fatalf("exit 0, want non-zero; stderr: %s", stderr)
			}
			if !strings.Contains(stderr, tc.want) {
				t.Fatalf("stderr %q does not contain %q", stderr, tc.want)
			}
			if strings.Contains(stderr, "goroutine ") || strings.Contains(stderr, "hunter2") {
				t.Fatalf("stderr has a stack trace or a password: %s", stderr)
			}
		})
	}
}

func TestEnvironmentSetsFlagDefaults(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	code, out, stderr := run(t, map[string]string{"OPSDOJO_DATA_DIR": dir}, "migrate", "up")
	if code != 0 {
		t.Fatalf("migrate up: %d %s", code, stderr)
	}
	if !strings.Contains(out, "applied 00001") {
		t.Fatalf("migrate up output %q", out)
	}
	code, out, _ = run(t, map[string]string{"OPSDOJO_DATA_DIR": dir}, "migrate", "status")
	if code != 0 || !strings.Contains(out, "00001_initial.sql") || !strings.Contains(out, "applied") {
		t.Fatalf("migrate status: %d %q", code, out)
	}
}

func TestHelpListsEnvironmentVariables(t *testing.T) {
	t.Parallel()
	code, _, stderr := run(t, nil, "serve", "--help")
	if code != 0 {
		t.Fatalf("exit %d", code)
	}
	for _, v := range []string{"OPSDOJO_ADDR", "OPSDOJO_DB", "OPSDOJO_DATA_DIR", "OPSDOJO_LOG_FORMAT"} {
		if !strings.Contains(stderr, v) {
			t.Errorf("help does not mention %s", v)
		}
	}
	if code, _, _ := run(t, nil, "no-such-command"); code != 2 {
		t.Fatalf("unknown command exit %d, want 2", code)
	}
}

func TestUserCreate(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	var out, errb strings.Builder
	app := &cli{stdin: strings.NewReader("a long enough password\n"), stdout: &out, stderr: &errb, getenv: func(string) string { return "" }}
	code := app.main(context.Background(), []string{"user", "create", "--data-dir", dir, "--role", "manager", "--email", "Boss@Example.com", "--password-stdin"})
	if code != 0 || !strings.Contains(out.String(), "created manager boss@example.com") {
		t.Fatalf("exit %d: %s %s", code, out.String(), errb.String())
	}
	cases := []struct {
		name, stdin string
		args        []string
		want        string
	}{
		{"duplicate", "a long enough password\n", []string{"--role", "manager", "--email", "boss@example.com", "--password-stdin"}, "already exists"},
		{"bad role", "a long enough password\n", []string{"--role", "root", "--email", "x@example.com", "--password-stdin"}, "is not a role"},
		{"short password", "short\n", []string{"--role", "candidate", "--email", "y@example.com", "--password-stdin"}, "password"},
		{"no stdin flag", "", []string{"--role", "candidate", "--email", "z@example.com"}, "--password-stdin is required"},
	}
	for _, tc := range cases {
		var out, errb strings.Builder
		app := &cli{stdin: strings.NewReader(tc.stdin), stdout: &out, stderr: &errb, getenv: func(string) string { return "" }}
		code := app.main(context.Background(), append([]string{"user", "create", "--data-dir", dir}, tc.args...))
		if code == 0 || !strings.Contains(errb.String(), tc.want) {
			t.Errorf("%s: exit %d, stderr %q, want %q", tc.name, code, errb.String(), tc.want)
		}
	}
}
