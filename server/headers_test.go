package server_test

import (
	"bytes"
	"context"
	"log/slog"
	"mime/multipart"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/opsdojo/opsdojo/accounts"
	"github.com/opsdojo/opsdojo/server"
	"github.com/opsdojo/opsdojo/store/storetest"
)

func newServerAt(t *testing.T, publicURL string) *server.Server {
	t.Helper()
	st := storetest.Open(t, "sqlite")
	acc := accounts.New(st, accounts.Config{LoginFailures: 100}, slog.New(slog.DiscardHandler), time.Now)
	srv, err := server.New(server.Config{PublicURL: publicURL, AllowSignup: true},
		server.Deps{Database: st, Docker: server.PingFunc(func(context.Context) error { return nil }), Accounts: acc})
	if err != nil {
		t.Fatal(err)
	}
	return srv
}

// TestSecurityHeaders: every answer carries a strict Content-Security-Policy
// (no inline script or eval — only WebAssembly compilation of our own
// bundle —, no framing, websockets only to our own host), and
// Strict-Transport-Security when the public URL is https (never on http,
// where it would be ignored at best and lock users out at worst).
func TestSecurityHeaders(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		publicURL string
		wsSource  string
		hsts      bool
	}{
		{"http://opsdojo.test:8080", "ws://opsdojo.test:8080", false},
		{"https://labs.example.com", "wss://labs.example.com", true},
	} {
		t.Run(tc.publicURL, func(t *testing.T) {
			t.Parallel()
			srv := newServerAt(t, tc.publicURL)
			b := &browser{t: t, srv: srv, cookies: map[string]string{}}
			for _, path := range []string{"/", "/login", "/api/v1/nope"} {
				_, _, hdr := b.do("GET", path, nil, nil)
				csp := hdr.Get("Content-Security-Policy")
				directives := map[string]string{}
				for _, d := range strings.Split(csp, ";") {
					name, value, _ := strings.Cut(strings.TrimSpace(d), " ")
					if name != "" {
						directives[name] = value
					}
				}
				want := map[string]string{
					"default-src":     "'self'",
					"script-src":      "'self' 'wasm-unsafe-eval'",
					"img-src":         "'self' data:",
					"connect-src":     "'self' " + tc.wsSource,
					"frame-ancestors": "'none'",
					"base-uri":        "'none'",
					"form-action":     "'self'",
					"object-src":      "'none'",
				}
				for name, value := range want {
					if directives[name] != value {
						t.Errorf("%s: CSP %s = %q, want %q (whole policy: %q)", path, name, directives[name], value, csp)
					}
				}
				for _, loose := range []string{"'unsafe-inline'", "'unsafe-eval'", "*", "data:", "http:", "https:"} {
					if strings.Contains(" "+directives["script-src"]+" ", " "+loose+" ") {
						t.Errorf("%s: script-src allows %s: %q", path, loose, directives["script-src"])
					}
				}
				if _, ok := directives["style-src"]; !ok {
					t.Errorf("%s: no style-src in %q", path, csp)
				}
				hsts := hdr.Get("Strict-Transport-Security")
				if tc.hsts && hsts != "max-age=31536000; includeSubDomains" {
					t.Errorf("%s: Strict-Transport-Security = %q on an https server", path, hsts)
				}
				if !tc.hsts && hsts != "" {
					t.Errorf("%s: Strict-Transport-Security = %q on a plain-http server", path, hsts)
				}
			}
		})
	}
}

// TestCSRFTokenNeverFromQueryString: a token in the URL leaks to logs,
// Referer headers and browser history, so a POST carrying it only in the
// query string is refused; the header and the form body (urlencoded and
// multipart) are accepted.
func TestCSRFTokenNeverFromQueryString(t *testing.T) {
	t.Parallel()
	srv := newServerAt(t, "http://opsdojo.test")
	b := &browser{t: t, srv: srv, cookies: map[string]string{}}
	tok := b.csrf("/login")
	creds := url.Values{"email": {"nobody@example.com"}, "password": {"wrong password"}}

	// Only in the query string: refused before the handler runs.
	code, body, _ := b.do("POST", "/login?_csrf="+url.QueryEscape(tok), creds, nil)
	if code != http.StatusForbidden || !strings.Contains(body, "CSRF") {
		t.Fatalf("token in the query string: got %d %q, want 403 naming the CSRF token", code, body)
	}
	// In the header: passes CSRF, then the login fails (401).
	if code, body, _ := b.do("POST", "/login", creds, map[string]string{"X-CSRF-Token": tok}); code != http.StatusUnauthorized {
		t.Fatalf("token in the header: got %d %q, want 401", code, body)
	}
	// In the urlencoded body.
	withTok := url.Values{"_csrf": {tok}, "email": creds["email"], "password": creds["password"]}
	if code, body, _ := b.do("POST", "/login", withTok, nil); code != http.StatusUnauthorized {
		t.Fatalf("token in the form body: got %d %q, want 401", code, body)
	}
	// In a multipart body (the upload form is multipart).
	var mp bytes.Buffer
	mw := multipart.NewWriter(&mp)
	for k, v := range withTok {
		_ = mw.WriteField(k, v[0])
	}
	_ = mw.Close()
	req, _ := http.NewRequest("POST", "/login", &mp)
	req.Header.Set("Content-Type", mw.FormDataContentType())
	for k, v := range b.cookies {
		req.AddCookie(&http.Cookie{Name: k, Value: v})
	}
	resp, err := srv.App().Test(req, 10000)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusUnauthorized {
		t.Fatalf("token in a multipart body: got %d, want 401", resp.StatusCode)
	}
	// A multipart body with the token in the query string only: refused.
	mp.Reset()
	mw = multipart.NewWriter(&mp)
	_ = mw.WriteField("email", "nobody@example.com")
	_ = mw.Close()
	req, _ = http.NewRequest("POST", "/login?_csrf="+url.QueryEscape(tok), &mp)
	req.Header.Set("Content-Type", mw.FormDataContentType())
	for k, v := range b.cookies {
		req.AddCookie(&http.Cookie{Name: k, Value: v})
	}
	resp, err = srv.App().Test(req, 10000)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusForbidden {
		t.Fatalf("multipart with the token in the query string: got %d, want 403", resp.StatusCode)
	}
}
