package main

import (
	"context"
	"errors"
	"log/slog"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/opsdojo/opsdojo/accounts"
	"github.com/opsdojo/opsdojo/store"
)

// userCLI runs `opsdojo user ARGS… --data-dir dir` with stdin.
func userCLI(t *testing.T, dir, stdin string, args ...string) (int, string, string) {
	t.Helper()
	var out, errb strings.Builder
	app := &cli{stdin: strings.NewReader(stdin), stdout: &out, stderr: &errb, getenv: func(string) string { return "" }}
	code := app.main(context.Background(), append(append([]string{"user"}, args...), "--data-dir", dir))
	return code, out.String(), errb.String()
}

// TestUserResetPassword: the admin reset sets a generated or given
// password and ends every session of the user: an old session token stops
// working at once, on the running server too (sessions live in the
// database).
func TestUserResetPassword(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	if code, out, errs := userCLI(t, dir, "the first password\n", "create", "--role", "manager", "--email", "boss@example.com", "--password-stdin"); code != 0 {
		t.Fatalf("create: %d %s %s", code, out, errs)
	}
	ctx := context.Background()
	st, err := store.Open(ctx, store.Options{DataDir: dir})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	acc := accounts.New(st, accounts.Config{}, slog.New(slog.DiscardHandler), time.Now)
	tok1, _, err := acc.Login(ctx, "boss@example.com", "the first password", "192.0.2.1", "")
	if err != nil {
		t.Fatal(err)
	}
	tok2, _, _ := acc.Login(ctx, "boss@example.com", "the first password", "192.0.2.2", "")

	// Generated: printed once, both sessions end.
	code, out, errs := userCLI(t, dir, "", "reset-password", "Boss@Example.com")
	m := regexp.MustCompile(`new password \(shown once[^)]*\): (\S+)`).FindStringSubmatch(out)
	if code != 0 || m == nil || !strings.Contains(out, "2 session(s) signed out") {
		t.Fatalf("reset: exit %d\n%s%s", code, out, errs)
	}
	for _, tok := range []string{tok1, tok2} {
		if _, err := acc.Authenticate(ctx, tok); !errors.Is(err, accounts.ErrNoSession) {
			t.Fatalf("a session survived the reset: %v", err)
		}
	}
	if _, _, err := acc.Login(ctx, "boss@example.com", "the first password", "192.0.2.3", ""); !errors.Is(err, accounts.ErrInvalidCredentials) {
		t.Fatalf("old password after reset: %v", err)
	}
	tok3, _, err := acc.Login(ctx, "boss@example.com", m[1], "192.0.2.4", "")
	if err != nil {
		t.Fatalf("generated password: %v", err)
	}

	// From standard input, flag after the email; nothing secret printed.
	code, out, errs = userCLI(t, dir, "chosen by the admin\n", "reset-password", "boss@example.com", "--password-stdin")
	if code != 0 || strings.Contains(out, "new password") || !strings.Contains(out, "1 session(s) signed out") {
		t.Fatalf("reset from stdin: exit %d\n%s%s", code, out, errs)
	}
	if _, err := acc.Authenticate(ctx, tok3); !errors.Is(err, accounts.ErrNoSession) {
		t.Fatalf("a session survived the second reset: %v", err)
	}
	if _, _, err := acc.Login(ctx, "boss@example.com", "chosen by the admin", "192.0.2.5", ""); err != nil {
		t.Fatalf("password from stdin: %v", err)
	}

	cases := []struct {
		name, stdin string
		args        []string
		want        string
	}{
		{"unknown email", "", []string{"reset-password", "nobody@example.com"}, `no account has the email "nobody@example.com"`},
		{"short password", "short\n", []string{"reset-password", "--password-stdin", "boss@example.com"}, "password: must be"},
		{"empty stdin", "", []string{"reset-password", "--password-stdin", "boss@example.com"}, "no password on standard input"},
		{"no email", "", []string{"reset-password"}, "Usage: opsdojo user reset-password"},
		{"two emails", "", []string{"reset-password", "a@example.com", "b@example.com"}, "Usage: opsdojo user reset-password"},
		{"unknown subcommand", "", []string{"delete"}, "opsdojo user reset-password"},
	}
	for _, tc := range cases {
		code, _, errs := userCLI(t, dir, tc.stdin, tc.args...)
		if code == 0 || !strings.Contains(errs, tc.want) {
			t.Errorf("%s: exit %d, stderr %q, want %q", tc.name, code, errs, tc.want)
		}
	}
}
