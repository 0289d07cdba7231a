package server_test

import (
	"context"
	"log/slog"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/opsdojo/opsdojo/accounts"
	"github.com/opsdojo/opsdojo/assignments"
	"github.com/opsdojo/opsdojo/challenges"
	"github.com/opsdojo/opsdojo/server"
	"github.com/opsdojo/opsdojo/store/storetest"
)

type tokenWorld struct {
	assignWorld
	tokens *accounts.Tokens
}

// newTokenWorld is newAssignWorld on dialect, with API tokens on a clock
// the test moves.
func newTokenWorld(t *testing.T, dialect string) *tokenWorld {
	t.Helper()
	st := storetest.Open(t, dialect)
	ch, err := challenges.Load("../cmd/opsdojo/testdata/challenges/edit-config")
	if err != nil {
		t.Fatal(err)
	}
	clk := &testClock{}
	acc := accounts.New(st, accounts.Config{}, slog.New(slog.DiscardHandler), time.Now)
	ctx := context.Background()
	for _, u := range []accounts.NewUser{
		{Email: "alice@example.com", Name: "Alice", Password: "manager password 1", Role: accounts.RoleManager},
		{Email: "bob@example.com", Name: "Bob", Password: "manager password 2", Role: accounts.RoleManager},
		{Email: "carl@example.com", Name: "Carl", Password: "candidate password", Role: accounts.RoleCandidate},
	} {
		if _, err := acc.CreateUser(ctx, u); err != nil {
			t.Fatal(err)
		}
	}
	svc := assignments.New(st, stubAttempts{st, ch}, noSandboxes{}, oneChallenge{ch}, nil, assignments.Config{PublicURL: "http://opsdojo.test"}, slog.New(slog.DiscardHandler), clk.Now)
	tokens := accounts.NewTokens(st, clk.Now)
	srv, err := server.New(server.Config{PublicURL: "http://opsdojo.test"}, server.Deps{Database: st, Docker: server.PingFunc(func(context.Context) error { return nil }),
		Accounts: acc, Tokens: tokens, Catalog: oneChallenge{ch}, Review: server.ReviewDeps{Service: svc}})
	if err != nil {
		t.Fatal(err)
	}
	return &tokenWorld{assignWorld: assignWorld{srv: srv, svc: svc, st: st, clock: clk}, tokens: tokens}
}

var tokenRe = regexp.MustCompile(`"token":"(odj_[A-Za-z0-9_-]+)"`)
var tokenIDRe = regexp.MustCompile(`"api_token":\{"id":"([^"]+)"`)

// newAPIToken creates a token through the API as the logged-in b.
func newAPIToken(t *testing.T, b *browser, scope, days string) (raw, id string) {
	t.Helper()
	code, body := b.doJSON("POST", "/api/v1/tokens", `{"name":"ats","scope":"`+scope+`","expires_in_days":`+days+`}`, map[string]string{"X-CSRF-Token": b.apiCSRF()})
	m, mi := tokenRe.FindStringSubmatch(body), tokenIDRe.FindStringSubmatch(body)
	if code != http.StatusCreated || m == nil || mi == nil {
		t.Fatalf("create token: %d %s", code, body)
	}
	return m[1], mi[1]
}

// bearer sends a request with only the token: no cookies, no CSRF token,
// an Origin of another site on writes.
func bearer(t *testing.T, srv *server.Server, token, method, path, body string) (int, string) {
	t.Helper()
	b := &browser{t: t, srv: srv, cookies: map[string]string{}}
	hdr := map[string]string{"Authorization": "Bearer " + token}
	if method != "GET" {
		hdr["Origin"] = "https://ats.example.com" // cross-site
	}
	code, resp := b.doJSON(method, path, body, hdr)
	if len(b.cookies) != 0 {
		t.Fatalf("%s %s with a Bearer token set cookies %v", method, path, b.cookies)
	}
	return code, resp
}

func TestAPITokens(t *testing.T) {
	for _, dialect := range []string{storetest.SQLite, storetest.Postgres} {
		t.Run(dialect, func(t *testing.T) {
			t.Parallel()
			w := newTokenWorld(t, dialect)
			alice := w.login(t, "alice@example.com", "manager password 1")
			bob := w.login(t, "bob@example.com", "manager password 2")
			aliceAssignment, _ := createAssignment(t, alice, "60", "dana@example.com")
			bobAssignment, _ := createAssignment(t, bob, "60", "erin@example.com")
			ctx := context.Background()

			// create → use → last used moves → revoke → 401.
			raw, id := newAPIToken(t, alice, "assignments", "30")
			if !strings.HasPrefix(raw, accounts.TokenPrefix) {
				t.Fatalf("token %q lacks the %s prefix", raw, accounts.TokenPrefix)
			}
			stored, err := w.st.APITokenByHash(ctx, accounts.HashToken(raw))
			if err != nil || stored.LastUsedAt != nil || stored.TokenHash == raw || strings.Contains(stored.TokenHash, raw[4:]) {
				t.Fatalf("stored token: %+v %v (want the hash only, never used)", stored, err)
			}
			if code, body := bearer(t, w.srv, raw, "GET", "/api/v1/assignments/"+aliceAssignment, ""); code != 200 {
				t.Fatalf("GET own assignment with token: %d %s", code, body)
			}
			first, _ := w.st.APITokenByHash(ctx, accounts.HashToken(raw))
			if first.LastUsedAt == nil {
				t.Fatal("last_used_at not recorded")
			}
			w.clock.Add(time.Minute)
			bearer(t, w.srv, raw, "GET", "/api/v1/me", "")
			second, _ := w.st.APITokenByHash(ctx, accounts.HashToken(raw))
			if second.LastUsedAt == nil || !second.LastUsedAt.After(*first.LastUsedAt) {
				t.Fatalf("last_used_at did not move: %v then %v", first.LastUsedAt, second.LastUsedAt)
			}
			// An assignments token creates assignments and invites, cross-site, without CSRF.
			deadline := time.Now().UTC().Add(48 * time.Hour).Format(time.RFC3339)
			if code, body := bearer(t, w.srv, raw, "POST", "/api/v1/assignments", `{"title":"ATS","challenges":["edit-config"],"time_limit_minutes":60,"deadline":"`+deadline+`"}`); code != 201 && code != 200 {
				t.Fatalf("POST assignment with an assignments token: %d %s", code, body)
			}
			if code, body := bearer(t, w.srv, raw, "POST", "/api/v1/assignments/"+aliceAssignment+"/invites", `{"name":"Fay","email":"fay@example.com"}`); code != 201 {
				t.Fatalf("POST invite with an assignments token: %d %s", code, body)
			}
			if code, body := bearer(t, w.srv, raw, "GET", "/api/v1/assignments/"+aliceAssignment+"/scores.csv", ""); code != 200 {
				t.Fatalf("scores with an assignments token: %d %s", code, body)
			}
			// Not beyond the owner: another manager's assignment stays out of reach.
			if code, body := bearer(t, w.srv, raw, "GET", "/api/v1/assignments/"+bobAssignment, ""); code != 403 && code != 404 {
				t.Fatalf("Bob's assignment with Alice's token: %d %s", code, body)
			}
			if code, body := bearer(t, w.srv, raw, "POST", "/api/v1/assignments/"+bobAssignment+"/invites", `{"name":"Gus","email":"gus@example.com"}`); code != 403 && code != 404 {
				t.Fatalf("invite to Bob's assignment with Alice's token: %d %s", code, body)
			}
			// Wrong scope: 403 (an assignments token cannot manage tokens).
			if code, body := bearer(t, w.srv, raw, "POST", "/api/v1/tokens", `{"name":"x","scope":"admin"}`); code != 403 {
				t.Fatalf("token creation with an assignments token: %d %s, want 403", code, body)
			}
			// A token never opens a cookie session.
			if code, _ := bearer(t, w.srv, raw, "POST", "/api/v1/login", `{"email":"alice@example.com","password":"manager password 1"}`); code != 403 {
				t.Fatalf("login with a Bearer token: %d, want 403", code)
			}
			// Pages are not for tokens.
			if code, _ := bearer(t, w.srv, raw, "GET", "/assignments", ""); code != 403 {
				t.Fatalf("page with a token: %d, want 403", code)
			}
			// Revoke → 401.
			if code, body := alice.doJSON("DELETE", "/api/v1/tokens/"+id, "", map[string]string{"X-CSRF-Token": alice.apiCSRF()}); code != 200 {
				t.Fatalf("revoke: %d %s", code, body)
			}
			if code, _ := bearer(t, w.srv, raw, "GET", "/api/v1/me", ""); code != 401 {
				t.Fatalf("revoked token: %d, want 401", code)
			}
			// Bob cannot revoke Alice's tokens.
			_, id2 := newAPIToken(t, alice, "read", "0")
			if code, _ := bob.doJSON("DELETE", "/api/v1/tokens/"+id2, "", map[string]string{"X-CSRF-Token": bob.apiCSRF()}); code != 404 {
				t.Fatalf("Bob revoking Alice's token: %d, want 404", code)
			}

			// A read token cannot POST.
			read, _ := newAPIToken(t, alice, "read", "30")
			if code, _ := bearer(t, w.srv, read, "GET", "/api/v1/assignments", ""); code != 200 {
				t.Fatalf("read token GET: %d", code)
			}
			if code, body := bearer(t, w.srv, read, "POST", "/api/v1/assignments/"+aliceAssignment+"/invites", `{"name":"Hal","email":"hal@example.com"}`); code != 403 {
				t.Fatalf("read token POST: %d %s, want 403", code, body)
			}

			// Expired → 401.
			short, _ := newAPIToken(t, alice, "admin", "1")
			if code, _ := bearer(t, w.srv, short, "GET", "/api/v1/me", ""); code != 200 {
				t.Fatalf("fresh token: %d", code)
			}
			w.clock.Add(25 * time.Hour)
			if code, _ := bearer(t, w.srv, short, "GET", "/api/v1/me", ""); code != 401 {
				t.Fatalf("expired token: %d, want 401", code)
			}
			// Unknown and malformed tokens → 401.
			for _, bad := range []string{"odj_nope", "not-a-token", ""} {
				if code, _ := bearer(t, w.srv, bad, "GET", "/api/v1/me", ""); code != 401 {
					t.Fatalf("token %q: %d, want 401", bad, code)
				}
			}

			// A token never grants more than its owner's role: a candidate's
			// admin token cannot create assignments.
			carl := w.login(t, "carl@example.com", "candidate password")
			carlTok, _ := newAPIToken(t, carl, "admin", "30")
			if code, _ := bearer(t, w.srv, carlTok, "POST", "/api/v1/assignments", `{"title":"x","challenges":["edit-config"],"time_limit_minutes":60,"deadline":"`+deadline+`"}`); code != 403 {
				t.Fatalf("candidate's admin token creating an assignment: %d, want 403", code)
			}

			// A cookie request without CSRF still fails, even with JSON.
			if code, _ := alice.doJSON("POST", "/api/v1/assignments/"+aliceAssignment+"/invites", `{"name":"Ivy","email":"ivy@example.com"}`, map[string]string{"Origin": "http://opsdojo.test"}); code != 403 {
				t.Fatalf("cookie JSON POST without CSRF: %d, want 403", code)
			}
		})
	}
}

// TestInviteSessionCannotCreateTokens: a session opened by an invite link
// is refused (domain rule, checked on the service).
func TestInviteSessionCannotCreateTokens(t *testing.T) {
	t.Parallel()
	st := storetest.Open(t, storetest.SQLite)
	tokens := accounts.NewTokens(st, time.Now)
	sess := &accounts.Session{User: &accounts.User{ID: "u1", Role: accounts.RoleCandidate}, InviteID: "inv"}
	if _, _, err := tokens.Create(context.Background(), sess, nil, accounts.NewAPIToken{Name: "x", Scope: accounts.ScopeRead}); err != accounts.ErrTokenFromInvite {
		t.Fatalf("invite session creating a token: %v, want ErrTokenFromInvite", err)
	}
}

// TestAPITokensPage: the account page creates a token (shown once), lists
// it by its prefix, and revokes it.
func TestAPITokensPage(t *testing.T) {
	t.Parallel()
	w := newTokenWorld(t, storetest.SQLite)
	alice := w.login(t, "alice@example.com", "manager password 1")
	csrf := alice.csrf("/account/tokens")
	code, body, _ := alice.do("POST", "/account/tokens", url.Values{"_csrf": {csrf}, "name": {"ATS"}, "scope": {"assignments"}, "expires_in_days": {"30"}}, nil)
	m := regexp.MustCompile(`id="new-token">(odj_[A-Za-z0-9_-]+)<`).FindStringSubmatch(body)
	if code != 200 || m == nil {
		t.Fatalf("create on the page: %d %.2000s", code, body)
	}
	if c, _ := bearer(t, w.srv, m[1], "GET", "/api/v1/me", ""); c != 200 {
		t.Fatalf("page-made token: %d", c)
	}
	_, page, _ := alice.do("GET", "/account/tokens", nil, nil)
	if strings.Contains(page, m[1]) || !strings.Contains(page, m[1][:10]+"…") {
		t.Fatalf("list must show the prefix only, never the token:\n%.2000s", page)
	}
	rm := regexp.MustCompile(`action="/account/tokens/([^/"]+)/revoke"`).FindStringSubmatch(page)
	if rm == nil {
		t.Fatalf("no revoke form:\n%.2000s", page)
	}
	if c, _, hdr := alice.do("POST", "/account/tokens/"+rm[1]+"/revoke", url.Values{"_csrf": {csrf}}, nil); c != 303 || hdr.Get("Location") != "/account/tokens?revoked=1" {
		t.Fatalf("revoke on the page: %d %v", c, hdr)
	}
	if c, _ := bearer(t, w.srv, m[1], "GET", "/api/v1/me", ""); c != 401 {
		t.Fatalf("revoked page-made token: %d, want 401", c)
	}
	// Bad scope: the page says so.
	code, body, _ = alice.do("POST", "/account/tokens", url.Values{"_csrf": {csrf}, "name": {"x"}, "scope": {"root"}}, nil)
	if code != 422 || !strings.Contains(body, "is not a scope") {
		t.Fatalf("bad scope: %d %.1000s", code, body)
	}
}
