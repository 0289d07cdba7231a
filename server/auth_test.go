package server_test

import (
	"context"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/opsdojo/opsdojo/accounts"
	"github.com/opsdojo/opsdojo/server"
	"github.com/opsdojo/opsdojo/store/storetest"
)

// browser is a tiny cookie-keeping client over app.Test.
type browser struct {
	t       *testing.T
	srv     *server.Server
	cookies map[string]string
}

func (b *browser) do(method, path string, form url.Values, hdr map[string]string) (int, string, http.Header) {
	b.t.Helper()
	var body io.Reader
	if form != nil {
		body = strings.NewReader(form.Encode())
	}
	req, _ := http.NewRequest(method, path, body)
	if form != nil {
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	}
	for k, v := range hdr {
		req.Header.Set(k, v)
	}
	for k, v := range b.cookies {
		req.AddCookie(&http.Cookie{Name: k, Value: v})
	}
	resp, err := b.srv.App().Test(req, 10000)
	if err != nil {
		b.t.Fatal(err)
	}
	defer resp.Body.Close()
	for _, c := range resp.Cookies() {
		if c.Value == "" || c.Expires.Before(time.Now()) && !c.Expires.IsZero() {
			delete(b.cookies, c.Name)
		} else {
			b.cookies[c.Name] = c.Value
		}
	}
	data, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(data), resp.Header
}

var csrfRe = regexp.MustCompile(`name="_csrf" value="([^"]+)"`)

func (b *browser) csrf(path string) string {
	b.t.Helper()
	_, page, _ := b.do("GET", path, nil, nil)
	m := csrfRe.FindStringSubmatch(page)
	if m == nil {
		b.t.Fatalf("no CSRF token on %s", path)
	}
	return m[1]
}

func newAuthServer(t *testing.T, signup bool) (*server.Server, *accounts.Service) {
	t.Helper()
	st := storetest.Open(t, "sqlite")
	acc := accounts.New(st, accounts.Config{LoginFailures: 3}, slog.New(slog.DiscardHandler), time.Now)
	srv, err := server.New(server.Config{PublicURL: "http://opsdojo.test", AllowSignup: signup},
		server.Deps{Database: st, Docker: server.PingFunc(func(context.Context) error { return nil }), Accounts: acc})
	if err != nil {
		t.Fatal(err)
	}
	return srv, acc
}

func TestRegisterLoginLogout(t *testing.T) {
	t.Parallel()
	srv, _ := newAuthServer(t, true)
	b := &browser{t: t, srv: srv, cookies: map[string]string{}}

	tok := b.csrf("/register")
	code, _, hdr := b.do("POST", "/register", url.Values{"_csrf": {tok}, "email": {"ada@example.com"}, "name": {"Ada"}, "password": {"analytical engine"}}, nil)
	if code != http.StatusSeeOther || hdr.Get("Location") != "/" {
		t.Fatalf("register: %d %s", code, hdr.Get("Location"))
	}
	session := b.cookies["opsdojo_session"]
	if session == "" {
		t.Fatal("no session cookie after register")
	}
	code, body, _ := b.do("GET", "/api/v1/me", nil, nil)
	if code != 200 || !strings.Contains(body, `"role":"candidate"`) {
		t.Fatalf("/me: %d %s", code, body)
	}
	_, page, _ := b.do("GET", "/", nil, nil)
	if !strings.Contains(page, "Ada · candidate") {
		t.Fatal("home page does not show the logged-in user")
	}
	// Logging in again rotates the session: the old token stops working.
	tok = b.csrf("/")
	code, _, _ = b.do("POST", "/login", url.Values{"_csrf": {tok}, "email": {"ada@example.com"}, "password": {"analytical engine"}}, nil)
	if code != http.StatusSeeOther || b.cookies["opsdojo_session"] == session {
		t.Fatalf("re-login: %d rotated=%v", code, b.cookies["opsdojo_session"] != session)
	}
	old := &browser{t: t, srv: srv, cookies: map[string]string{"opsdojo_session": session}}
	if code, _, _ := old.do("GET", "/api/v1/me", nil, nil); code != http.StatusUnauthorized {
		t.Fatalf("old session still valid: %d", code)
	}
	// Logout needs the CSRF token and revokes on the server.
	current := b.cookies["opsdojo_session"]
	if code, _, _ := b.do("POST", "/logout", url.Values{}, nil); code != http.StatusForbidden {
		t.Fatalf("logout without CSRF: %d", code)
	}
	tok = b.csrf("/")
	if code, _, _ := b.do("POST", "/logout", url.Values{"_csrf": {tok}}, nil); code != http.StatusSeeOther {
		t.Fatalf("logout: %d", code)
	}
	replay := &browser{t: t, srv: srv, cookies: map[string]string{"opsdojo_session": current}}
	if code, _, _ := replay.do("GET", "/api/v1/me", nil, nil); code != http.StatusUnauthorized {
		t.Fatalf("revoked session accepted: %d", code)
	}
}

func TestLoginErrorsAndRateLimit(t *testing.T) {
	t.Parallel()
	srv, acc := newAuthServer(t, false)
	if _, err := acc.CreateUser(context.Background(), accounts.NewUser{Email: "m@example.com", Password: "manager password", Role: "manager"}); err != nil {
		t.Fatal(err)
	}
	b := &browser{t: t, srv: srv, cookies: map[string]string{}}
	tok := b.csrf("/login")
	for i := 0; i < 3; i++ {
		code, body, _ := b.do("POST", "/login", url.Values{"_csrf": {tok}, "email": {"m@example.com"}, "password": {"nope nope nope"}}, nil)
		if code != http.StatusUnauthorized || !strings.Contains(body, "wrong email or password") {
			t.Fatalf("bad password %d: %d", i, code)
		}
	}
	code, body, _ := b.do("POST", "/login", url.Values{"_csrf": {tok}, "email": {"m@example.com"}, "password": {"manager password"}}, nil)
	if code != http.StatusTooManyRequests || !strings.Contains(body, "too many failed logins") {
		t.Fatalf("rate limit: %d", code)
	}
	// Sign-up closed.
	if code, _, _ := b.do("GET", "/register", nil, nil); code != http.StatusForbidden {
		t.Fatalf("register with signup closed: %d", code)
	}
}

func TestCSRFAndOriginChecks(t *testing.T) {
	t.Parallel()
	srv, _ := newAuthServer(t, true)
	b := &browser{t: t, srv: srv, cookies: map[string]string{}}
	tok := b.csrf("/login")
	cases := []struct {
		name string
		form url.Values
		hdr  map[string]string
		want int
	}{
		{"no token", url.Values{"email": {"x@example.com"}, "password": {"whatever pw"}}, nil, http.StatusForbidden},
		{"wrong token", url.Values{"_csrf": {"forged"}, "email": {"x@example.com"}, "password": {"whatever pw"}}, nil, http.StatusForbidden},
		{"foreign origin", url.Values{"_csrf": {tok}, "email": {"x@example.com"}, "password": {"whatever pw"}}, map[string]string{"Origin": "https://evil.example"}, http.StatusForbidden},
		{"header token ok", url.Values{"email": {"x@example.com"}, "password": {"whatever pw"}}, map[string]string{"X-CSRF-Token": tok, "Origin": "http://opsdojo.test"}, http.StatusUnauthorized},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			code, _, _ := b.do("POST", "/login", tc.form, tc.hdr)
			if code != tc.want {
				t.Fatalf("got %d, want %d", code, tc.want)
			}
		})
	}
	// next= cannot send the user off-site.
	for _, next := range []string{"//evil.example/", "https://evil.example", "/\\evil"} {
		if got := server.SafeNext(next); got != "/" {
			t.Fatalf("SafeNext(%q) = %q", next, got)
		}
	}
}
