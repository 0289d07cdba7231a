package server_test

import (
	"net/http"
	"regexp"
	"strings"
	"testing"
)

// anonCSRF is the anonymous double-submit token, from /api/v1/csrf.
func (b *browser) anonCSRF() string {
	b.t.Helper()
	_, body, _ := b.do("GET", "/api/v1/csrf", nil, nil)
	m := regexp.MustCompile(`"csrf_token":"([^"]+)"`).FindStringSubmatch(body)
	if m == nil {
		b.t.Fatalf("no csrf_token in /api/v1/csrf: %s", body)
	}
	return m[1]
}

// TestJSONLoginAndRegister: register and login read a JSON body as they
// read a form (before readInput both failed with `email: "" is not an
// email address`), and a JSON post still needs the CSRF token.
func TestJSONLoginAndRegister(t *testing.T) {
	t.Parallel()
	srv, _ := newAuthServer(t, true)
	b := &browser{t: t, srv: srv, cookies: map[string]string{}}
	tok := b.anonCSRF()
	// Without the token: refused, JSON or not.
	if code, body := b.doJSON("POST", "/api/v1/register", `{"email":"ada@example.com","name":"Ada","password":"analytical engine"}`, nil); code != http.StatusForbidden {
		t.Fatalf("JSON register without CSRF: %d %s, want 403", code, body)
	}
	code, body := b.doJSON("POST", "/api/v1/register", `{"email":"ada@example.com","name":"Ada","password":"analytical engine"}`, map[string]string{"X-CSRF-Token": tok, "Accept": "application/json"})
	if code != http.StatusOK || !strings.Contains(body, `"email":"ada@example.com"`) {
		t.Fatalf("JSON register: %d %s", code, body)
	}
	b2 := &browser{t: t, srv: srv, cookies: map[string]string{}}
	tok2 := b2.anonCSRF()
	code, body = b2.doJSON("POST", "/api/v1/login", `{"email":"ada@example.com","password":"analytical engine"}`, map[string]string{"X-CSRF-Token": tok2, "Accept": "application/json"})
	if code != http.StatusOK || !strings.Contains(body, `"csrf_token"`) {
		t.Fatalf("JSON login: %d %s", code, body)
	}
	// The CSRF token may also travel in the JSON body as _csrf.
	b3 := &browser{t: t, srv: srv, cookies: map[string]string{}}
	tok3 := b3.anonCSRF()
	code, body = b3.doJSON("POST", "/api/v1/login", `{"_csrf":"`+tok3+`","email":"ada@example.com","password":"wrong password"}`, map[string]string{"Accept": "application/json"})
	if code != http.StatusUnauthorized {
		t.Fatalf("JSON login with a wrong password (token in body): %d %s, want 401", code, body)
	}
}
