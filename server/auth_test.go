package server_test

import (
	"context"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
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
	return newAuthServerWith(t, server.Config{AllowSignup: signup}, accounts.Config{LoginFailures: 3})
}

func newAuthServerWith(t *testing.T, cfg server.Config, acfg accounts.Config) (*server.Server, *accounts.Service) {
	t.Helper()
	st := storetest.Open(t, "sqlite")
	acc := accounts.New(st, acfg, slog.New(slog.DiscardHandler), time.Now)
	cfg.PublicURL = "http://opsdojo.test"
	srv, err := server.New(cfg, server.Deps{Database: st, Docker: server.PingFunc(func(context.Context) error { return nil }), Accounts: acc})
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

// loggedIn returns a browser logged in as email (through the login form).
func loggedIn(t *testing.T, srv *server.Server, email, password string) *browser {
	t.Helper()
	b := &browser{t: t, srv: srv, cookies: map[string]string{}}
	tok := b.csrf("/login")
	if code, _, _ := b.do("POST", "/login", url.Values{"_csrf": {tok}, "email": {email}, "password": {password}}, nil); code != http.StatusSeeOther {
		t.Fatalf("login %s: %d", email, code)
	}
	return b
}

// apiCSRF is the session's CSRF token, from /api/v1/me.
func (b *browser) apiCSRF() string {
	b.t.Helper()
	_, body, _ := b.do("GET", "/api/v1/me", nil, nil)
	m := regexp.MustCompile(`"csrf_token":"([^"]+)"`).FindStringSubmatch(body)
	if m == nil {
		b.t.Fatalf("no csrf_token in /api/v1/me: %s", body)
	}
	return m[1]
}

func (b *browser) loggedIn() bool {
	code, _, _ := b.do("GET", "/api/v1/me", nil, map[string]string{"Accept": "application/json"})
	return code == http.StatusOK
}

// TestPasswordChange: the page and the API change the password with the
// current one, sign out the user's other sessions and keep this one.
func TestPasswordChange(t *testing.T) {
	t.Parallel()
	srv, acc := newAuthServer(t, false)
	if _, err := acc.CreateUser(context.Background(), accounts.NewUser{Email: "p@example.com", Password: "first password", Role: "author"}); err != nil {
		t.Fatal(err)
	}
	a := loggedIn(t, srv, "p@example.com", "first password")
	other := loggedIn(t, srv, "p@example.com", "first password")

	// The page, linked from every page's header.
	if _, home, _ := a.do("GET", "/", nil, nil); !strings.Contains(home, `href="/me/password"`) {
		t.Fatal("no link to the password page in the header")
	}
	code, page, _ := a.do("GET", "/me/password", nil, nil)
	if code != 200 || !strings.Contains(page, `name="current_password"`) || !strings.Contains(page, `action="/logout-all"`) {
		t.Fatalf("password page: %d", code)
	}
	anon := &browser{t: t, srv: srv, cookies: map[string]string{}}
	if code, _, hdr := anon.do("GET", "/me/password", nil, nil); code != http.StatusSeeOther || !strings.HasPrefix(hdr.Get("Location"), "/login") {
		t.Fatalf("anonymous password page: %d %s", code, hdr.Get("Location"))
	}
	tok := a.csrf("/me/password")
	code, page, _ = a.do("POST", "/me/password", url.Values{"_csrf": {tok}, "current_password": {"wrong password"}, "new_password": {"second password"}}, nil)
	if code != http.StatusForbidden || !strings.Contains(page, "current password is wrong") {
		t.Fatalf("wrong current password: %d", code)
	}
	if !other.loggedIn() {
		t.Fatal("a refused change signed out another session")
	}
	code, page, _ = a.do("POST", "/me/password", url.Values{"_csrf": {tok}, "current_password": {"first password"}, "new_password": {"second password"}}, nil)
	if code != 200 || !strings.Contains(page, "Password changed. Your other session was signed out.") {
		t.Fatalf("change: %d %s", code, page)
	}
	if !a.loggedIn() {
		t.Fatal("the session that changed the password was signed out")
	}
	if other.loggedIn() {
		t.Fatal("the other session still works after the password change")
	}

	// The API, JSON body.
	other = loggedIn(t, srv, "p@example.com", "second password")
	hdr := map[string]string{"X-CSRF-Token": a.apiCSRF()}
	code, body := a.doJSON("POST", "/api/v1/me/password", `{"current_password":"second password","new_password":"x"}`, hdr)
	if code != http.StatusUnprocessableEntity || !strings.Contains(body, "new_password") {
		t.Fatalf("API short password: %d %s", code, body)
	}
	code, body = a.doJSON("POST", "/api/v1/me/password", `{"current_password":"second password","new_password":"third password"}`, hdr)
	if code != 200 || !strings.Contains(body, `"sessions_revoked":1`) {
		t.Fatalf("API change: %d %s", code, body)
	}
	if !a.loggedIn() || other.loggedIn() {
		t.Fatal("API change: want this session kept and the other ended")
	}
	if _, _, err := acc.Login(context.Background(), "p@example.com", "third password", "192.0.2.200", ""); err != nil {
		t.Fatalf("log in with the new password: %v", err)
	}
	// Without the CSRF token: refused.
	if code, _ := a.doJSON("POST", "/api/v1/me/password", `{"current_password":"third password","new_password":"fourth password"}`, nil); code != http.StatusForbidden {
		t.Fatalf("API change without CSRF token: %d", code)
	}
}

// TestLogoutAll: "sign out everywhere" ends every session of the user,
// the one that asked included, and no one else's.
func TestLogoutAll(t *testing.T) {
	t.Parallel()
	srv, acc := newAuthServer(t, false)
	for _, e := range []string{"everywhere@example.com", "bystander@example.com"} {
		if _, err := acc.CreateUser(context.Background(), accounts.NewUser{Email: e, Password: "a good password", Role: "candidate"}); err != nil {
			t.Fatal(err)
		}
	}
	bystander := loggedIn(t, srv, "bystander@example.com", "a good password")
	for _, api := range []bool{false, true} {
		a := loggedIn(t, srv, "everywhere@example.com", "a good password")
		b := loggedIn(t, srv, "everywhere@example.com", "a good password")
		oldToken := b.cookies["opsdojo_session"]
		if api {
			code, body := a.doJSON("POST", "/api/v1/logout-all", "", map[string]string{"X-CSRF-Token": a.apiCSRF()})
			if code != 200 || !strings.Contains(body, `"sessions_revoked":2`) {
				t.Fatalf("API logout-all: %d %s", code, body)
			}
		} else {
			tok := a.csrf("/me/password")
			if code, _, hdr := a.do("POST", "/logout-all", url.Values{"_csrf": {tok}}, nil); code != http.StatusSeeOther || hdr.Get("Location") != "/login" {
				t.Fatalf("logout-all: %d %s", code, hdr.Get("Location"))
			}
			if a.cookies["opsdojo_session"] != "" {
				t.Fatal("the session cookie was not cleared")
			}
		}
		replay := &browser{t: t, srv: srv, cookies: map[string]string{"opsdojo_session": oldToken}}
		if a.loggedIn() || b.loggedIn() || replay.loggedIn() {
			t.Fatalf("api=%v: a session survived sign out everywhere", api)
		}
	}
	if !bystander.loggedIn() {
		t.Fatal("another user's session was ended")
	}
}

func (b *browser) doJSON(method, path, body string, hdr map[string]string) (int, string) {
	b.t.Helper()
	h := map[string]string{"Content-Type": "application/json"}
	for k, v := range hdr {
		h[k] = v
	}
	req, _ := http.NewRequest(method, path, strings.NewReader(body))
	for k, v := range h {
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
	data, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(data)
}

// TestForwardedForOnlyFromTrustedProxies: X-Forwarded-For names the
// client only when the peer is a trusted proxy, and then its right-most
// address that is not a trusted proxy (what the client wrote to the left
// of it is ignored). Observed through the per-address login limit.
func TestForwardedForOnlyFromTrustedProxies(t *testing.T) {
	t.Parallel()
	acfg := accounts.Config{LoginFailures: 2, LoginFailuresPerIP: 3}
	var n atomic.Int32
	fail := func(b *browser, tok, xff string) int { // a fresh email each time
		t.Helper()
		email := "x" + strconv.Itoa(int(n.Add(1))) + "@example.com"
		code, _, _ := b.do("POST", "/api/v1/login", url.Values{"email": {email}, "password": {"a wrong password"}},
			map[string]string{"X-CSRF-Token": tok, "X-Forwarded-For": xff})
		return code
	}
	t.Run("untrusted peer", func(t *testing.T) {
		t.Parallel()
		// app.Test connections come from 0.0.0.0, not in the list.
		p, _ := server.ParseTrustedProxies("10.0.0.0/8")
		srv, _ := newAuthServerWith(t, server.Config{TrustedProxies: p}, acfg)
		b := &browser{t: t, srv: srv, cookies: map[string]string{}}
		tok := b.csrf("/login")
		for i := range 3 {
			if code := fail(b, tok, "198.51.100."+strconv.Itoa(i+1)); code != http.StatusUnauthorized {
				t.Fatalf("failure %d: %d", i, code)
			}
		}
		if code := fail(b, tok, "198.51.100.99"); code != http.StatusTooManyRequests {
			t.Fatalf("a forged X-Forwarded-For from an untrusted peer bought a fresh budget: %d", code)
		}
	})
	t.Run("trusted peer", func(t *testing.T) {
		t.Parallel()
		p, _ := server.ParseTrustedProxies("0.0.0.0, 10.0.0.0/8")
		srv, _ := newAuthServerWith(t, server.Config{TrustedProxies: p}, acfg)
		b := &browser{t: t, srv: srv, cookies: map[string]string{}}
		tok := b.csrf("/login")
		for i := range 3 { // client 198.51.100.1 through two of our proxies
			if code := fail(b, tok, "198.51.100.1, 10.1.2.3"); code != http.StatusUnauthorized {
				t.Fatalf("failure %d: %d", i, code)
			}
		}
		code, _, hdr := b.do("POST", "/api/v1/login", url.Values{"email": {"y@example.com"}, "password": {"a wrong password"}},
			map[string]string{"X-CSRF-Token": tok, "X-Forwarded-For": "203.0.113.50, 198.51.100.1, 10.1.2.3"})
		if code != http.StatusTooManyRequests {
			t.Fatalf("the client prepended an address and escaped its limit: %d", code)
		}
		if ra, err := strconv.Atoi(hdr.Get("Retry-After")); err != nil || ra < 1 || ra > 15*60 {
			t.Fatalf("Retry-After %q, want seconds within the window", hdr.Get("Retry-After"))
		}
		if code := fail(b, tok, "198.51.100.2, 10.1.2.3"); code != http.StatusUnauthorized {
			t.Fatalf("another client behind the same proxy was limited: %d", code)
		}
	})
}

// TestHashingBusyAnswers503: when every password-hashing slot stays taken
// for the queue wait, login and sign-up answer 503 with Retry-After and a
// plain message instead of piling up 64 MiB hashes.
func TestHashingBusyAnswers503(t *testing.T) {
	t.Parallel()
	entered, release := make(chan struct{}, 10), make(chan struct{})
	var once sync.Once
	hook := func() {
		entered <- struct{}{}
		once.Do(func() { <-release }) // the first hash holds the only slot
	}
	srv, _ := newAuthServerWith(t, server.Config{AllowSignup: true}, accounts.Config{HashConcurrency: 1, HashWait: 50 * time.Millisecond, HashHook: hook})
	holder := &browser{t: t, srv: srv, cookies: map[string]string{}}
	htok := holder.csrf("/login")
	done := make(chan int, 1)
	go func() {
		code, _, _ := holder.do("POST", "/api/v1/login", url.Values{"email": {"holder@example.com"}, "password": {"a wrong password"}}, map[string]string{"X-CSRF-Token": htok})
		done <- code
	}()
	select {
	case <-entered:
	case <-time.After(30 * time.Second):
		t.Fatal("the first login never reached the hash")
	}
	b := &browser{t: t, srv: srv, cookies: map[string]string{}}
	tok := b.csrf("/login")
	cases := []struct {
		name, path string
		form       url.Values
		hdr        map[string]string
		want       string
	}{
		{"api login", "/api/v1/login", url.Values{"email": {"a@example.com"}, "password": {"a wrong password"}}, map[string]string{"X-CSRF-Token": tok}, `"error":"the server is busy checking passwords`},
		{"login form", "/login", url.Values{"_csrf": {tok}, "email": {"a@example.com"}, "password": {"a wrong password"}}, nil, "the server is busy checking passwords"},
		{"sign-up form", "/register", url.Values{"_csrf": {tok}, "email": {"new@example.com"}, "password": {"a good password"}}, nil, "the server is busy checking passwords"},
	}
	for _, tc := range cases {
		code, body, hdr := b.do("POST", tc.path, tc.form, tc.hdr)
		if code != http.StatusServiceUnavailable || !strings.Contains(body, tc.want) || hdr.Get("Retry-After") == "" {
			t.Errorf("%s: %d Retry-After=%q, want 503 with Retry-After and %q in %s", tc.name, code, hdr.Get("Retry-After"), tc.want, body)
		}
	}
	close(release)
	if code := <-done; code != http.StatusUnauthorized {
		t.Fatalf("the held login: %d", code)
	}
}
