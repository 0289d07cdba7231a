package accounts_test

import (
	"context"
	"errors"
	"log/slog"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/opsdojo/opsdojo/accounts"
	"github.com/opsdojo/opsdojo/store"
	"github.com/opsdojo/opsdojo/store/storetest"
)

type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *clock) add(d time.Duration) {
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.mu.Unlock()
}

func newService(t *testing.T, dialect string) (*accounts.Service, *clock) {
	t.Helper()
	st := storetest.Open(t, dialect)
	c := &clock{t: time.Date(2026, 1, 1, 10, 0, 0, 0, time.UTC)}
	return accounts.New(st, accounts.Config{IdleTimeout: time.Hour, AbsoluteTimeout: 8 * time.Hour, LoginFailures: 3, LoginWindow: 10 * time.Minute}, slog.New(slog.DiscardHandler), c.now), c
}

func TestPasswordHashRoundTrip(t *testing.T) {
	t.Parallel()
	h, err := accounts.HashPassword("correct horse battery")
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(h, "$argon2id$v=19$") {
		t.Fatalf("hash %q", h)
	}
	for pw, want := range map[string]bool{"correct horse battery": true, "correct horse batterY": false, "": false} {
		ok, err := accounts.VerifyPassword(h, pw)
		if err != nil || ok != want {
			t.Fatalf("verify %q = %v, %v", pw, ok, err)
		}
	}
	if _, err := accounts.VerifyPassword("$2a$10$bcrypt", "x"); err == nil {
		t.Fatal("foreign hash accepted")
	}
}

func TestCreateUserValidation(t *testing.T) {
	t.Parallel()
	svc, _ := newService(t, store.DialectSQLite)
	ctx := context.Background()
	cases := []struct {
		name  string
		nu    accounts.NewUser
		field string
	}{
		{"bad email", accounts.NewUser{Email: "nope", Password: "long enough pw", Role: "candidate"}, "email"},
		{"bad role", accounts.NewUser{Email: "a@b.co", Password: "long enough pw", Role: "root"}, "role"},
		{"short password", accounts.NewUser{Email: "a@b.co", Password: "short", Role: "candidate"}, "password"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			_, err := svc.CreateUser(ctx, tc.nu)
			var ve *accounts.ValidationError
			if !errors.As(err, &ve) || ve.Field != tc.field {
				t.Fatalf("err %v, want a validation error on %s", err, tc.field)
			}
		})
	}
	if _, err := svc.CreateUser(ctx, accounts.NewUser{Email: "Dup@Example.com", Password: "long enough pw", Role: "candidate"}); err != nil {
		t.Fatal(err)
	}
	if _, err := svc.CreateUser(ctx, accounts.NewUser{Email: "dup@example.com", Password: "long enough pw", Role: "candidate"}); !errors.Is(err, accounts.ErrEmailTaken) {
		t.Fatalf("duplicate email: %v", err)
	}
}

func TestSessionLifecycle(t *testing.T) {
	t.Parallel()
	for _, dialect := range storetest.Dialects {
		t.Run(dialect, func(t *testing.T) {
			t.Parallel()
			svc, clk := newService(t, dialect)
			ctx := context.Background()
			if _, err := svc.CreateUser(ctx, accounts.NewUser{Email: "c@example.com", Password: "a good password", Role: "candidate"}); err != nil {
				t.Fatal(err)
			}
			token, sess, err := svc.Login(ctx, "C@example.com", "a good password", "127.0.0.1", "test")
			if err != nil {
				t.Fatal(err)
			}
			if len(token) < 22 { // 128 bits in base64url is 22 chars; ours are 256 bits
				t.Fatalf("token too short: %d", len(token))
			}
			if sess.ID == token || sess.CSRFToken == "" {
				t.Fatal("token stored in clear or no CSRF token")
			}
			got, err := svc.Authenticate(ctx, token)
			if err != nil || got.User.Email != "c@example.com" {
				t.Fatalf("authenticate: %v", err)
			}
			// A second login gives a different token (rotation).
			token2, _, err := svc.Login(ctx, "c@example.com", "a good password", "127.0.0.1", "test")
			if err != nil || token2 == token {
				t.Fatalf("second login: %v same=%v", err, token2 == token)
			}
			// Logout revokes on the server.
			if err := svc.Logout(ctx, token2); err != nil {
				t.Fatal(err)
			}
			if _, err := svc.Authenticate(ctx, token2); !errors.Is(err, accounts.ErrNoSession) {
				t.Fatalf("after logout: %v", err)
			}
			// Idle timeout.
			clk.add(61 * time.Minute)
			if _, err := svc.Authenticate(ctx, token); !errors.Is(err, accounts.ErrNoSession) {
				t.Fatalf("after idle timeout: %v", err)
			}
			// Absolute timeout even when active.
			token3, _, _ := svc.Login(ctx, "c@example.com", "a good password", "127.0.0.1", "test")
			for i := 0; i < 9; i++ {
				clk.add(55 * time.Minute)
				_, err = svc.Authenticate(ctx, token3)
			}
			if !errors.Is(err, accounts.ErrNoSession) {
				t.Fatalf("after absolute timeout: %v", err)
			}
		})
	}
}

func TestLoginRateLimit(t *testing.T) {
	t.Parallel()
	svc, clk := newService(t, store.DialectSQLite)
	ctx := context.Background()
	_, _ = svc.CreateUser(ctx, accounts.NewUser{Email: "r@example.com", Password: "a good password", Role: "candidate"})
	for i := 0; i < 3; i++ {
		if _, _, err := svc.Login(ctx, "r@example.com", "wrong password", "10.0.0.9", ""); !errors.Is(err, accounts.ErrInvalidCredentials) {
			t.Fatalf("attempt %d: %v", i, err)
		}
	}
	if _, _, err := svc.Login(ctx, "r@example.com", "a good password", "10.0.0.9", ""); !errors.Is(err, accounts.ErrRateLimited) {
		t.Fatalf("4th attempt: %v, want rate limited even with the right password", err)
	}
	clk.add(11 * time.Minute)
	if _, _, err := svc.Login(ctx, "r@example.com", "a good password", "10.0.0.9", ""); err != nil {
		t.Fatalf("after the window: %v", err)
	}
	if _, _, err := svc.Login(ctx, "nobody@example.com", "whatever pw", "10.0.0.9", ""); !errors.Is(err, accounts.ErrInvalidCredentials) {
		t.Fatalf("unknown email: %v", err)
	}
}

func TestEnsureAdminOnce(t *testing.T) {
	t.Parallel()
	svc, _ := newService(t, store.DialectSQLite)
	ctx := context.Background()
	created, pw, err := svc.EnsureAdmin(ctx, "", "")
	if err != nil || !created || len(pw) < 16 {
		t.Fatalf("first: %v %v %q", created, err, pw)
	}
	if _, _, err := svc.Login(ctx, "admin@opsdojo.local", pw, "1.1.1.1", ""); err != nil {
		t.Fatalf("login as generated admin: %v", err)
	}
	created, _, err = svc.EnsureAdmin(ctx, "", "")
	if err != nil || created {
		t.Fatalf("second: %v %v", created, err)
	}
}
