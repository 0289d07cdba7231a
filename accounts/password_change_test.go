package accounts_test

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/opsdojo/opsdojo/accounts"
	"github.com/opsdojo/opsdojo/store/storetest"
)

// logins opens n sessions for email/password and returns their tokens and
// sessions.
func logins(t *testing.T, svc *accounts.Service, email, password string, n int) ([]string, []*accounts.Session) {
	t.Helper()
	var toks []string
	var sessions []*accounts.Session
	for range n {
		tok, sess, err := svc.Login(context.Background(), email, password, "192.0.2.1", "test")
		if err != nil {
			t.Fatalf("login %s: %v", email, err)
		}
		toks, sessions = append(toks, tok), append(sessions, sess)
	}
	return toks, sessions
}

func alive(svc *accounts.Service, tok string) bool {
	_, err := svc.Authenticate(context.Background(), tok)
	return err == nil
}

func TestChangePassword(t *testing.T) {
	t.Parallel()
	for _, dialect := range storetest.Dialects {
		t.Run(dialect, func(t *testing.T) {
			t.Parallel()
			svc, _ := newService(t, dialect)
			ctx := context.Background()
			if _, err := svc.CreateUser(ctx, accounts.NewUser{Email: "pw@example.com", Password: "the old password", Role: "candidate"}); err != nil {
				t.Fatal(err)
			}
			toks, sessions := logins(t, svc, "pw@example.com", "the old password", 3)
			cur := sessions[0]

			_, err := svc.ChangePassword(ctx, cur, "not the password", "a brand new password", "192.0.2.1")
			if !errors.Is(err, accounts.ErrWrongPassword) {
				t.Fatalf("wrong current password: %v", err)
			}
			var ve *accounts.ValidationError
			if _, err := svc.ChangePassword(ctx, cur, "the old password", "short", "192.0.2.1"); !errors.As(err, &ve) || ve.Field != "new_password" {
				t.Fatalf("short new password: %v", err)
			}
			if _, err := svc.ChangePassword(ctx, cur, "the old password", "the old password", "192.0.2.1"); !errors.As(err, &ve) {
				t.Fatalf("same password: %v", err)
			}
			for i, tok := range toks {
				if !alive(svc, tok) {
					t.Fatalf("session %d ended by a refused change", i)
				}
			}

			revoked, err := svc.ChangePassword(ctx, cur, "the old password", "a brand new password", "192.0.2.1")
			if err != nil || revoked != 2 {
				t.Fatalf("change: revoked %d, %v; want 2 other sessions ended", revoked, err)
			}
			if !alive(svc, toks[0]) {
				t.Fatal("the session that changed the password was logged out")
			}
			for _, tok := range toks[1:] {
				if alive(svc, tok) {
					t.Fatal("another session survived the password change")
				}
			}
			if _, _, err := svc.Login(ctx, "pw@example.com", "the old password", "192.0.2.50", ""); !errors.Is(err, accounts.ErrInvalidCredentials) {
				t.Fatalf("old password still works: %v", err)
			}
			if _, _, err := svc.Login(ctx, "pw@example.com", "a brand new password", "192.0.2.51", ""); err != nil {
				t.Fatalf("new password: %v", err)
			}
		})
	}
}

// TestChangePasswordGuessesAreLimited: a stolen session cannot guess the
// current password faster than the login form allows.
func TestChangePasswordGuessesAreLimited(t *testing.T) {
	t.Parallel()
	svc, _ := newService(t, "sqlite") // 3 failures per 10 minutes
	ctx := context.Background()
	if _, err := svc.CreateUser(ctx, accounts.NewUser{Email: "g@example.com", Password: "the real password", Role: "candidate"}); err != nil {
		t.Fatal(err)
	}
	_, sessions := logins(t, svc, "g@example.com", "the real password", 1)
	for range 3 {
		if _, err := svc.ChangePassword(ctx, sessions[0], "a wrong guess", "a brand new password", "203.0.113.5"); !errors.Is(err, accounts.ErrWrongPassword) {
			t.Fatalf("guess: %v", err)
		}
	}
	if _, err := svc.ChangePassword(ctx, sessions[0], "the real password", "a brand new password", "203.0.113.5"); !errors.Is(err, accounts.ErrRateLimited) {
		t.Fatalf("4th try: %v, want rate limited", err)
	}
}

func TestResetPassword(t *testing.T) {
	t.Parallel()
	for _, dialect := range storetest.Dialects {
		t.Run(dialect, func(t *testing.T) {
			t.Parallel()
			svc, _ := newService(t, dialect)
			ctx := context.Background()
			if _, err := svc.CreateUser(ctx, accounts.NewUser{Email: "lost@example.com", Password: "a forgotten password", Role: "manager"}); err != nil {
				t.Fatal(err)
			}
			toks, _ := logins(t, svc, "lost@example.com", "a forgotten password", 2)

			u, generated, revoked, err := svc.ResetPassword(ctx, " Lost@Example.com ", "")
			if err != nil || u.Email != "lost@example.com" || revoked != 2 || len(generated) < 20 {
				t.Fatalf("reset: %v revoked=%d generated=%q", err, revoked, generated)
			}
			for _, tok := range toks {
				if alive(svc, tok) {
					t.Fatal("a session survived the reset")
				}
			}
			if _, _, err := svc.Login(ctx, "lost@example.com", generated, "192.0.2.9", ""); err != nil {
				t.Fatalf("login with the generated password: %v", err)
			}
			// A chosen password; the generated one stops working.
			if _, gen, _, err := svc.ResetPassword(ctx, "lost@example.com", "chosen by the admin"); err != nil || gen != "" {
				t.Fatalf("reset to a chosen password: %v %q", err, gen)
			}
			if _, _, err := svc.Login(ctx, "lost@example.com", generated, "192.0.2.10", ""); !errors.Is(err, accounts.ErrInvalidCredentials) {
				t.Fatalf("generated password after a second reset: %v", err)
			}
			if _, _, err := svc.Login(ctx, "lost@example.com", "chosen by the admin", "192.0.2.11", ""); err != nil {
				t.Fatalf("chosen password: %v", err)
			}
			if _, _, _, err := svc.ResetPassword(ctx, "nobody@example.com", ""); err == nil || !strings.Contains(err.Error(), "nobody@example.com") {
				t.Fatalf("unknown email: %v", err)
			}
			var ve *accounts.ValidationError
			if _, _, _, err := svc.ResetPassword(ctx, "lost@example.com", "short"); !errors.As(err, &ve) {
				t.Fatalf("short password: %v", err)
			}
		})
	}
}

func TestLogoutAll(t *testing.T) {
	t.Parallel()
	for _, dialect := range storetest.Dialects {
		t.Run(dialect, func(t *testing.T) {
			t.Parallel()
			svc, _ := newService(t, dialect)
			ctx := context.Background()
			for _, e := range []string{"all@example.com", "other@example.com"} {
				if _, err := svc.CreateUser(ctx, accounts.NewUser{Email: e, Password: "a good password", Role: "candidate"}); err != nil {
					t.Fatal(err)
				}
			}
			toks, sessions := logins(t, svc, "all@example.com", "a good password", 3)
			otherToks, _ := logins(t, svc, "other@example.com", "a good password", 1)
			revoked, err := svc.LogoutAll(ctx, sessions[1])
			if err != nil || revoked != 3 {
				t.Fatalf("logout all: %d %v, want 3", revoked, err)
			}
			for i, tok := range toks {
				if alive(svc, tok) {
					t.Fatalf("session %d survived sign out everywhere", i)
				}
			}
			if !alive(svc, otherToks[0]) {
				t.Fatal("another user's session was ended")
			}
		})
	}
}
