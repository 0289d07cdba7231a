package main

import (
	"encoding/json"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"strings"
	"testing"
	"time"
)

// apiClient is a logged-in (or anonymous) HTTP client with its CSRF token.
type apiClient struct {
	t    *testing.T
	base string
	c    *http.Client
	csrf string
}

func newClient(t *testing.T, base string) *apiClient {
	t.Helper()
	jar, _ := cookiejar.New(nil)
	cl := &apiClient{t: t, base: base, c: &http.Client{Jar: jar, Timeout: 3 * time.Minute,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}}
	var tok struct {
		CSRF string `json:"csrf_token"`
	}
	cl.json("GET", "/api/v1/csrf", nil, &tok)
	cl.csrf = tok.CSRF
	return cl
}

func (cl *apiClient) do(method, path string, body io.Reader, ctype string) (int, string) {
	cl.t.Helper()
	req, _ := http.NewRequest(method, cl.base+path, body)
	req.Header.Set("X-CSRF-Token", cl.csrf)
	if ctype != "" {
		req.Header.Set("Content-Type", ctype)
	}
	if strings.HasPrefix(path, "/api/") {
		req.Header.Set("Accept", "application/json")
	}
	resp, err := cl.c.Do(req)
	if err != nil {
		cl.t.Fatalf("%s %s: %v", method, path, err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

func (cl *apiClient) json(method, path string, in, out any) int {
	cl.t.Helper()
	var body io.Reader
	if in != nil {
		b, _ := json.Marshal(in)
		body = strings.NewReader(string(b))
	}
	code, s := cl.do(method, path, body, "application/json")
	if out != nil && code < 300 {
		if err := json.Unmarshal([]byte(s), out); err != nil {
			cl.t.Fatalf("%s %s: %v in %s", method, path, err, s)
		}
	}
	return code
}

func (cl *apiClient) login(email, password string) {
	cl.t.Helper()
	form := url.Values{"email": {email}, "password": {password}}
	code, body := cl.do("POST", "/api/v1/login", strings.NewReader(form.Encode()), "application/x-www-form-urlencoded")
	if code != 200 {
		cl.t.Fatalf("login %s: %d %s", email, code, body)
	}
	var me struct {
		CSRF string `json:"csrf_token"`
	}
	_ = json.Unmarshal([]byte(body), &me)
	cl.csrf = me.CSRF
}

// TestAuthorizationMatrix: every route × every role, including anonymous.
// No route answers 500; a candidate never reaches another candidate's
// attempt, the authoring pages, or a check's or solution's text.
func TestAuthorizationMatrix(t *testing.T) {
	t.Parallel()
	srv := startServer(t, "testdata/challenges")
	roles := []string{"candidate", "manager", "author", "admin"}
	clients := map[string]*apiClient{"anon": newClient(t, srv.URL)}
	for _, r := range append(roles, "other") {
		role := r
		if r == "other" {
			role = "candidate"
		}
		email := r + "@example.com"
		app := &cli{stdin: strings.NewReader("role password " + r + "\n"), stdout: io.Discard, stderr: io.Discard, getenv: func(string) string { return "" }}
		if code := app.main(t.Context(), []string{"user", "create", "--data-dir", srv.DataDir, "--role", role, "--email", email, "--password-stdin"}); code != 0 {
			t.Fatalf("user create %s: %d", r, code)
		}
		cl := newClient(t, srv.URL)
		cl.login(email, "role password "+r)
		clients[r] = cl
	}
	// The candidate owns attempt A.
	var started struct {
		Attempt struct{ ID string } `json:"attempt"`
	}
	if code := clients["candidate"].json("POST", "/api/v1/challenges/edit-config/attempts", nil, &started); code != 201 {
		t.Fatalf("start: %d", code)
	}
	A := started.Attempt.ID

	type row struct {
		method, path string
		want         map[string]int // role -> status; missing roles: anything but 500
	}
	all := func(code int) map[string]int {
		return map[string]int{"anon": code, "candidate": code, "other": code, "manager": code, "author": code, "admin": code}
	}
	staff := func(anon, cand, other, stf int) map[string]int {
		return map[string]int{"anon": anon, "candidate": cand, "other": other, "manager": stf, "author": stf, "admin": stf}
	}
	reviewers := func(anon int) map[string]int {
		return map[string]int{"anon": anon, "candidate": 200, "other": 404, "manager": 404, "author": 404, "admin": 200}
	}
	rows := []row{
		{"GET", "/", all(200)},
		{"GET", "/healthz", all(200)},
		{"GET", "/challenges", all(200)},
		{"GET", "/challenges/edit-config", all(200)},
		{"GET", "/challenges/no-such", all(404)},
		{"GET", "/api/v1/challenges", all(200)},
		{"GET", "/api/v1/me", staff(401, 200, 200, 200)},
		{"GET", "/me/attempts", staff(303, 200, 200, 200)},
		// A practice attempt: its owner and admins; managers only see their
		// own assignments' candidates, authors none.
		{"GET", "/attempts/" + A, reviewers(303)},
		{"GET", "/api/v1/attempts/" + A, reviewers(401)},
		{"GET", "/api/v1/attempts/" + A + "/results", map[string]int{"anon": 401, "other": 404, "manager": 404, "author": 404}},
		{"GET", "/api/v1/attempts/" + A + "/files?path=/workspace/app.conf", reviewers(401)},
		{"GET", "/api/v1/attempts/" + A + "/files?path=/etc/shadow", map[string]int{"anon": 401, "candidate": 400, "other": 404, "manager": 404, "author": 404, "admin": 400}},
		{"PUT", "/api/v1/attempts/" + A + "/files?path=/workspace/app.conf", staff(401, 200, 404, 404)},
		{"POST", "/api/v1/attempts/" + A + "/check", staff(401, 200, 404, 404)},
		{"POST", "/api/v1/attempts/" + A + "/hints/0", staff(401, 200, 404, 404)},
		{"POST", "/api/v1/attempts/" + A + "/hints/9", staff(401, 400, 404, 404)},
		{"GET", "/api/v1/attempts/no-such-attempt", staff(401, 404, 404, 404)},
		{"GET", "/author", map[string]int{"anon": 303, "candidate": 403, "other": 403, "manager": 403, "author": 200, "admin": 200}},
		{"GET", "/api/v1/author/challenges", map[string]int{"anon": 401, "candidate": 403, "other": 403, "manager": 403, "author": 200, "admin": 200}},
		{"GET", "/api/v1/author/challenges/edit-config", map[string]int{"anon": 401, "candidate": 403, "other": 403, "manager": 403, "author": 200, "admin": 200}},
		{"POST", "/api/v1/author/challenges/edit-config/publish", map[string]int{"anon": 401, "candidate": 403, "other": 403, "manager": 403, "author": 200, "admin": 200}},
	}
	for _, r := range rows {
		for who, cl := range clients {
			var body io.Reader
			ctype := ""
			if r.method == "PUT" {
				body, ctype = strings.NewReader(`{"content":"port = 80\n"}`), "application/json"
			}
			code, text := cl.do(r.method, r.path, body, ctype)
			want, ok := r.want[who]
			if code >= 500 {
				t.Errorf("%s %s as %s: %d %s", r.method, r.path, who, code, text)
			} else if ok && code != want {
				t.Errorf("%s %s as %s: got %d, want %d (%.200s)", r.method, r.path, who, code, want, text)
			}
		}
	}
	// No route hands the checks' definitions or the solution to a candidate
	// (practice feedback after a check run names what failed, by design).
	for _, p := range []string{"/challenges/edit-config", "/api/v1/challenges/edit-config", "/attempts/" + A, "/api/v1/attempts/" + A} {
		_, body := clients["candidate"].do("GET", p, nil, "")
		for _, secret := range []string{"solution.sh", "printf", "regex:", "starter/app.conf"} {
			if strings.Contains(body, secret) {
				t.Errorf("%s shows %q to the candidate", p, secret)
			}
		}
	}
	t.Logf("%d routes × %d roles checked", len(rows), len(clients))
}
