package server_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/url"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/opsdojo/opsdojo/accounts"
	"github.com/opsdojo/opsdojo/assignments"
	"github.com/opsdojo/opsdojo/attempts"
	"github.com/opsdojo/opsdojo/challenges"
	"github.com/opsdojo/opsdojo/sandbox"
	"github.com/opsdojo/opsdojo/server"
	"github.com/opsdojo/opsdojo/store/storetest"
)

// oneChallenge is a catalog of edit-config only.
type oneChallenge struct{ ch *challenges.Challenge }

func (o oneChallenge) Get(id string) (*challenges.Challenge, bool) {
	if id == o.ch.ID {
		return o.ch, true
	}
	return nil, false
}

func (o oneChallenge) List(challenges.Filter) []*challenges.Challenge {
	return []*challenges.Challenge{o.ch}
}

// stubAttempts records attempts without sandboxes.
type stubAttempts struct {
	st *storetest.Store
	ch *challenges.Challenge
}

func (s stubAttempts) Start(ctx context.Context, id string, o attempts.StartOptions) (*attempts.Attempt, error) {
	a := &attempts.Attempt{ChallengeID: id, ChallengeVersion: s.ch.Version, Mode: o.Mode, State: attempts.StateActive, MaxScore: 100, StartedAt: time.Now().UTC(), DeadlineAt: o.Deadline}
	a.UserID, a.InviteID = &o.UserID, &o.InviteID
	return a, s.st.CreateAttempt(ctx, a)
}

func (s stubAttempts) Challenge(*attempts.Attempt) (*challenges.Challenge, error) { return s.ch, nil }

func (s stubAttempts) Wait(context.Context, string) (*attempts.GradingJob, *attempts.CheckRun, error) {
	return nil, nil, errors.New("no grader in this test")
}

func (s stubAttempts) End(ctx context.Context, a *attempts.Attempt, state attempts.State) error {
	return s.st.UpdateAttempt(ctx, a.ID, attempts.Update{State: new(state)})
}

func (s stubAttempts) Close(ctx context.Context, a *attempts.Attempt, at time.Time) error {
	return closeAttempt(ctx, s.st, a, at)
}

func (s stubAttempts) Freeze(ctx context.Context, a *attempts.Attempt, paused func(context.Context), keep func(context.Context) []string) []string {
	paused(ctx) // no sandbox to pause
	return keep(ctx)
}

func (s stubAttempts) Finish(ctx context.Context, a *attempts.Attempt, _ time.Duration, keep func(context.Context) error) ([]string, error) {
	if err := keep(ctx); err != nil {
		return nil, err
	}
	return []string{a.ChallengeID + ": final grading: no grader in this test"}, s.End(ctx, a, attempts.StateSubmitted)
}

// closeAttempt is attempts.Service.Close for the test doubles.
func closeAttempt(ctx context.Context, st *storetest.Store, a *attempts.Attempt, at time.Time) error {
	if a.State != attempts.StateActive || (a.DeadlineAt != nil && !a.DeadlineAt.After(at)) {
		return nil
	}
	a.DeadlineAt = &at
	return st.UpdateAttempt(ctx, a.ID, attempts.Update{DeadlineAt: &at})
}

type noSandboxes struct{}

func (noSandboxes) Changes(context.Context, string) ([]sandbox.Change, error) {
	return nil, sandbox.ErrNotFound
}

func (noSandboxes) CopyOut(context.Context, string, string, int64) (io.ReadCloser, error) {
	return nil, sandbox.ErrNotFound
}

type testClock struct {
	mu  sync.Mutex
	off time.Duration
}

func (c *testClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return time.Now().Add(c.off)
}

func (c *testClock) Add(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.off += d
}

type assignWorld struct {
	srv   *server.Server
	svc   *assignments.Service
	st    *storetest.Store
	clock *testClock
}

func newAssignWorld(t *testing.T) *assignWorld {
	t.Helper()
	st := storetest.Open(t, storetest.SQLite)
	ch, err := challenges.Load("../cmd/opsdojo/testdata/challenges/edit-config")
	if err != nil {
		t.Fatal(err)
	}
	clk := &testClock{}
	acc := accounts.New(st, accounts.Config{}, slog.New(slog.DiscardHandler), time.Now)
	ctx := context.Background()
	for _, u := range []accounts.NewUser{
		{Email: "admin@example.com", Name: "Admin", Password: "admin password 1", Role: accounts.RoleAdmin},
		{Email: "alice@example.com", Name: "Alice", Password: "manager password 1", Role: accounts.RoleManager},
		{Email: "bob@example.com", Name: "Bob", Password: "manager password 2", Role: accounts.RoleManager},
		{Email: "carl@example.com", Name: "Carl", Password: "candidate password", Role: accounts.RoleCandidate},
	} {
		if _, err := acc.CreateUser(ctx, u); err != nil {
			t.Fatal(err)
		}
	}
	svc := assignments.New(st, stubAttempts{st, ch}, noSandboxes{}, oneChallenge{ch}, nil, assignments.Config{PublicURL: "http://opsdojo.test"}, slog.New(slog.DiscardHandler), clk.Now)
	srv, err := server.New(server.Config{PublicURL: "http://opsdojo.test"}, server.Deps{Database: st, Docker: server.PingFunc(func(context.Context) error { return nil }),
		Accounts: acc, Catalog: oneChallenge{ch}, Review: server.ReviewDeps{Service: svc}})
	if err != nil {
		t.Fatal(err)
	}
	return &assignWorld{srv: srv, svc: svc, st: st, clock: clk}
}

func (w *assignWorld) browser(t *testing.T) *browser {
	return &browser{t: t, srv: w.srv, cookies: map[string]string{}}
}

func (w *assignWorld) login(t *testing.T, email, password string) *browser {
	t.Helper()
	b := w.browser(t)
	tok := b.csrf("/login")
	if code, body, _ := b.do("POST", "/login", url.Values{"_csrf": {tok}, "email": {email}, "password": {password}}, nil); code != 303 {
		t.Fatalf("login %s: %d %s", email, code, body)
	}
	return b
}

var (
	assignLocRe = regexp.MustCompile(`^/assignments/([0-9a-f]{32})$`)
	inviteRe    = regexp.MustCompile(`id="invite-link" value="http://opsdojo.test/invite/([A-Za-z0-9_-]+)"`)
)

// createAssignment makes an assignment and one invite as b; it returns
// the assignment ID and the invite token.
func createAssignment(t *testing.T, b *browser, limitMinutes, email string) (string, string) {
	t.Helper()
	tok := b.csrf("/assignments/new")
	code, body, hdr := b.do("POST", "/assignments", url.Values{"_csrf": {tok}, "title": {"SRE take-home"}, "challenge": {"edit-config"},
		"time_limit_minutes": {limitMinutes}, "deadline": {time.Now().UTC().Add(48 * time.Hour).Format("2006-01-02T15:04")}, "interview_mode": {"1"}}, nil)
	m := assignLocRe.FindStringSubmatch(hdr.Get("Location"))
	if code != 303 || m == nil {
		t.Fatalf("create assignment: %d %s %v", code, body, hdr)
	}
	code, body, _ = b.do("POST", "/assignments/"+m[1]+"/invites", url.Values{"_csrf": {tok}, "name": {"Dana"}, "email": {email}}, nil)
	im := inviteRe.FindStringSubmatch(body)
	if code != 201 || im == nil {
		t.Fatalf("invite: %d %.2000s", code, body)
	}
	return m[1], im[1]
}

func TestAssignmentPagesAuthorization(t *testing.T) {
	t.Parallel()
	w := newAssignWorld(t)
	alice := w.login(t, "alice@example.com", "manager password 1")
	bob := w.login(t, "bob@example.com", "manager password 2")
	admin := w.login(t, "admin@example.com", "admin password 1")
	carl := w.login(t, "carl@example.com", "candidate password")
	id, token := createAssignment(t, alice, "60", "dana@example.com")

	// Dana opens her invite in her own browser.
	dana := w.browser(t)
	tok := dana.csrf("/invite/" + token)
	code, body, hdr := dana.do("POST", "/invite/"+token, url.Values{"_csrf": {tok}}, nil)
	if code != 303 || !strings.HasPrefix(hdr.Get("Location"), "/take/") {
		t.Fatalf("open: %d %s", code, body)
	}
	inviteID := strings.TrimPrefix(hdr.Get("Location"), "/take/")

	cases := []struct {
		name string
		who  *browser
		path string
		code int
		want string
	}{
		{"owner sees dashboard", alice, "/assignments", 200, "SRE take-home"},
		{"owner sees assignment", alice, "/assignments/" + id, 200, "Dana"},
		{"owner sees report", alice, "/review/" + inviteID, 200, "dana@example.com"},
		{"owner exports csv", alice, "/assignments/" + id + "/scores.csv", 200, "Dana,dana@example.com,in progress"},
		{"other manager: empty dashboard", bob, "/assignments", 200, "No assignments yet"},
		{"other manager: no assignment", bob, "/assignments/" + id, 404, "not found"},
		{"other manager: no report", bob, "/review/" + inviteID, 404, "not found"},
		{"other manager: no csv", bob, "/assignments/" + id + "/scores.csv", 404, "not found"},
		{"admin sees all", admin, "/assignments/" + id, 200, "Dana"},
		{"admin sees report", admin, "/review/" + inviteID, 200, "Dana"},
		{"admin webhook log", admin, "/admin/webhooks", 200, "No webhook target is configured"},
		{"manager: no webhook log", alice, "/admin/webhooks", 403, "cannot do this"},
		{"candidate: no dashboard", carl, "/assignments", 403, "cannot do this"},
		{"candidate: no report", carl, "/review/" + inviteID, 403, "cannot do this"},
		{"invitee: no report", dana, "/review/" + inviteID, 403, "cannot do this"},
		{"candidate: no csv", carl, "/assignments/" + id + "/scores.csv", 403, "cannot do this"},
		{"other candidate: not their take-home", carl, "/take/" + inviteID, 404, "not found"},
		{"invitee: own take-home", dana, "/take/" + inviteID, 200, "Submit my work"},
		{"unknown report", alice, "/review/ffffffffffffffffffffffffffffffff", 404, "not found"},
		{"anonymous: login first", w.browser(t), "/assignments", 303, ""},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			code, body, _ := tc.who.do("GET", tc.path, nil, nil)
			if code != tc.code || !strings.Contains(body, tc.want) {
				t.Fatalf("GET %s: %d, want %d with %q:\n%.1500s", tc.path, code, tc.code, tc.want, body)
			}
		})
	}

	// Reviews: notes and rubric by the owner; bad rubric is a clear 422.
	ats, _ := w.st.AttemptsByInvite(context.Background(), inviteID)
	ctok := alice.csrf("/review/" + inviteID)
	if code, body, _ := alice.do("POST", "/review/"+inviteID+"/attempts/"+ats[0].ID, url.Values{"_csrf": {ctok}, "notes": {"tidy"}, "rubric_score": {"abc"}}, nil); code != 422 || !strings.Contains(body, "rubric_score") {
		t.Fatalf("bad rubric: %d %s", code, body)
	}
	if code, _, _ := alice.do("POST", "/review/"+inviteID+"/attempts/"+ats[0].ID, url.Values{"_csrf": {ctok}, "notes": {"tidy work"}, "rubric_score": {"70"}}, nil); code != 303 {
		t.Fatalf("save review: %d", code)
	}
	if _, body, _ := alice.do("GET", "/review/"+inviteID, nil, nil); !strings.Contains(body, "tidy work") || !strings.Contains(body, "rubric 70/100") {
		t.Fatalf("review not shown: %.2000s", body)
	}
	btok := bob.csrf("/assignments")
	if code, _, _ := bob.do("POST", "/review/"+inviteID+"/attempts/"+ats[0].ID, url.Values{"_csrf": {btok}, "notes": {"x"}}, nil); code != 404 {
		t.Fatalf("other manager reviews: %d", code)
	}
	if code, _, _ := alice.do("POST", "/assignments", url.Values{"title": {"no csrf"}}, nil); code != 403 {
		t.Fatalf("POST without CSRF: %d", code)
	}
}

func TestAssignmentFormErrors(t *testing.T) {
	t.Parallel()
	w := newAssignWorld(t)
	alice := w.login(t, "alice@example.com", "manager password 1")
	tok := alice.csrf("/assignments/new")
	dl := time.Now().UTC().Add(time.Hour).Format("2006-01-02T15:04")
	cases := []struct {
		name string
		form url.Values
		want string
	}{
		{"no challenge", url.Values{"title": {"x"}, "time_limit_minutes": {"30"}, "deadline": {dl}}, "choose at least one challenge"},
		{"bad minutes", url.Values{"title": {"x"}, "challenge": {"edit-config"}, "time_limit_minutes": {"soon"}, "deadline": {dl}}, "not a whole number of minutes"},
		{"bad deadline", url.Values{"title": {"x"}, "challenge": {"edit-config"}, "time_limit_minutes": {"30"}, "deadline": {"tomorrow"}}, "is not a date and time"},
		{"unknown challenge", url.Values{"title": {"x"}, "challenge": {"nope"}, "time_limit_minutes": {"30"}, "deadline": {dl}}, "no challenge named"},
		{"no title", url.Values{"challenge": {"edit-config"}, "time_limit_minutes": {"30"}, "deadline": {dl}}, "give the assignment a title"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			tc.form.Set("_csrf", tok)
			code, body, _ := alice.do("POST", "/assignments", tc.form, nil)
			if code != 422 || !strings.Contains(body, tc.want) || !strings.Contains(body, `id="assignment-form"`) {
				t.Fatalf("%d, want 422 with %q and the form:\n%.1500s", code, tc.want, body)
			}
		})
	}
	// The JSON API names the problem too.
	code, body, _ := alice.do("POST", "/api/v1/assignments", nil, map[string]string{"X-CSRF-Token": tok, "Content-Type": "application/json"})
	if code != 422 || !strings.Contains(body, "body") {
		t.Fatalf("empty JSON body: %d %s", code, body)
	}
	id, _ := createAssignment(t, alice, "30", "eve@example.com")
	code, body, _ = alice.do("POST", "/assignments/"+id+"/invites", url.Values{"_csrf": {tok}, "email": {"not-an-email"}}, nil)
	if code != 422 || !strings.Contains(body, "is not an email address") {
		t.Fatalf("bad invite email: %d %.1000s", code, body)
	}
	code, body, _ = alice.do("POST", "/assignments/"+id+"/invites", url.Values{"_csrf": {tok}, "email": {"bob@example.com"}}, nil)
	if code != 422 || !strings.Contains(body, "staff account") {
		t.Fatalf("staff invite: %d %.1000s", code, body)
	}
}

func TestInviteLinkLifecycle(t *testing.T) {
	t.Parallel()
	w := newAssignWorld(t)
	alice := w.login(t, "alice@example.com", "manager password 1")
	id, token := createAssignment(t, alice, "1", "dana@example.com")

	anon := w.browser(t)
	for _, tc := range []struct {
		path string
		code int
		want string
	}{
		{"/invite/not-a-real-token", 404, "this invite link is not valid"},
		{"/invite/" + strings.Repeat("a", 300), 404, "this invite link is not valid"},
		{"/api/v1/invite-check-not-a-route", 404, ""},
	} {
		code, body, _ := anon.do("GET", tc.path, nil, nil)
		if code != tc.code || !strings.Contains(body, tc.want) {
			t.Fatalf("GET %s: %d %.800s", tc.path, code, body)
		}
	}
	// The landing page does not start anything.
	if _, body, _ := anon.do("GET", "/invite/"+token, nil, nil); !strings.Contains(body, "Start — the clock starts now") {
		t.Fatalf("landing: %.1500s", body)
	}
	if code, body, _ := alice.do("GET", "/assignments/"+id, nil, nil); code != 200 || !strings.Contains(body, ">invited<") {
		t.Fatalf("status before opening: %.3000s", body)
	}

	dana := w.browser(t)
	tok := dana.csrf("/invite/" + token)
	code, _, hdr := dana.do("POST", "/invite/"+token, url.Values{"_csrf": {tok}}, nil)
	if code != 303 {
		t.Fatalf("open: %d", code)
	}
	take := hdr.Get("Location")
	// Used: another browser is refused with a clear page; Dana's own
	// browser goes back to her work.
	stranger := w.browser(t)
	stok := stranger.csrf("/login")
	for _, method := range []string{"GET", "POST"} {
		var form url.Values
		if method == "POST" {
			form = url.Values{"_csrf": {stok}}
		}
		code, body, _ := stranger.do(method, "/invite/"+token, form, nil)
		if code != 410 || !strings.Contains(body, "already been used") || !strings.Contains(body, `id="invite-error"`) {
			t.Fatalf("%s reused invite: %d %.1000s", method, code, body)
		}
	}
	if code, _, hdr := dana.do("GET", "/invite/"+token, nil, nil); code != 303 || hdr.Get("Location") != take {
		t.Fatalf("reopen by Dana: %d %v", code, hdr)
	}

	// Dana's session is a candidate's: no review pages.
	if code, _, _ := dana.do("GET", "/assignments/"+id, nil, nil); code != 403 {
		t.Fatalf("candidate on review page: %d", code)
	}
	// Past the deadline, submitting is refused (the clock submits).
	w.clock.Add(2 * time.Minute)
	ctok := dana.csrf(take)
	code, body, _ := dana.do("POST", take+"/submit", url.Values{"_csrf": {ctok}}, nil)
	if code != 409 || !strings.Contains(body, "time for this assignment is up") {
		t.Fatalf("late submit: %d %.1000s", code, body)
	}
	code, body, _ = dana.do("POST", "/api/v1"+take+"/submit", nil, map[string]string{"X-CSRF-Token": ctok})
	if code != 409 || !strings.Contains(body, `"error":"deadline was`) {
		t.Fatalf("late submit (API): %d %s", code, body)
	}
}

func TestSubmitOnceAndExpiredInvite(t *testing.T) {
	t.Parallel()
	w := newAssignWorld(t)
	alice := w.login(t, "alice@example.com", "manager password 1")
	id, token := createAssignment(t, alice, "30", "dana@example.com")
	dana := w.browser(t)
	tok := dana.csrf("/invite/" + token)
	_, _, hdr := dana.do("POST", "/invite/"+token, url.Values{"_csrf": {tok}}, nil)
	take := hdr.Get("Location")
	ctok := dana.csrf(take)
	if code, body, _ := dana.do("POST", take+"/submit", url.Values{"_csrf": {ctok}}, nil); code != 303 {
		t.Fatalf("submit: %d %s", code, body)
	}
	code, body, _ := dana.do("POST", take+"/submit", url.Values{"_csrf": {ctok}}, nil)
	if code != 409 || !strings.Contains(body, "already been submitted") {
		t.Fatalf("second submit: %d %.1000s", code, body)
	}
	if _, body, _ := dana.do("GET", take, nil, nil); !strings.Contains(body, `id="submitted"`) || strings.Contains(body, "Submit my work") {
		t.Fatalf("take page after submit: %.2000s", body)
	}

	// An invite whose link expired is refused with a clear page.
	atok := alice.csrf("/assignments/" + id)
	code, body, _ = alice.do("POST", "/assignments/"+id+"/invites", url.Values{"_csrf": {atok}, "name": {"Late"}, "email": {"late@example.com"}, "expires_in_days": {"1"}}, nil)
	m := inviteRe.FindStringSubmatch(body)
	if code != 201 || m == nil {
		t.Fatalf("invite: %d", code)
	}
	w.clock.Add(25 * time.Hour)
	late := w.browser(t)
	code, body, _ = late.do("GET", "/invite/"+m[1], nil, nil)
	if code != 410 || !strings.Contains(body, "has expired") {
		t.Fatalf("expired invite: %d %.1000s", code, body)
	}
}

// TestAssignmentInputBounds: deadlines at most a year ahead, time limits
// in range before they become durations (307445795 minutes overflowed to
// an hour), and invite emails of at most 254 characters; each refusal
// names its field.
func TestAssignmentInputBounds(t *testing.T) {
	t.Parallel()
	w := newAssignWorld(t)
	alice := w.login(t, "alice@example.com", "manager password 1")
	tok := alice.csrf("/assignments/new")
	api := map[string]string{"X-CSRF-Token": tok, "Content-Type": "application/json", "Accept": "application/json"}
	soon := time.Now().UTC().Add(time.Hour).Format(time.RFC3339)
	for _, tc := range []struct{ name, body, want string }{
		{"year 9999", `{"title":"x","challenges":["edit-config"],"time_limit_minutes":60,"deadline":"9999-12-31T23:59:00Z"}`, "deadline: must be at most 1 year from now"},
		{"overflowing minutes", `{"title":"x","challenges":["edit-config"],"time_limit_minutes":307445795,"deadline":"` + soon + `"}`, "time_limit: 307445795 minutes is out of range"},
		{"negative minutes", `{"title":"x","challenges":["edit-config"],"time_limit_minutes":-5,"deadline":"` + soon + `"}`, "time_limit"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			code, body := doJSON(alice, "POST", "/api/v1/assignments", tc.body, api)
			if code != 422 || !strings.Contains(body, tc.want) {
				t.Fatalf("%d %s, want 422 with %q", code, body, tc.want)
			}
		})
	}
	far := time.Now().UTC().AddDate(3, 0, 0).Format("2006-01-02T15:04")
	code, body, _ := alice.do("POST", "/assignments", url.Values{"_csrf": {tok}, "title": {"x"}, "challenge": {"edit-config"}, "time_limit_minutes": {"307445795"}, "deadline": {far}}, nil)
	if code != 422 || !strings.Contains(body, "time_limit") {
		t.Fatalf("form with overflowing minutes: %d %.800s", code, body)
	}

	id, _ := createAssignment(t, alice, "30", "eve@example.com")
	long := strings.Repeat("a", 64) + "@" + strings.Repeat("b", 60) + "." + strings.Repeat("c", 60) + "." + strings.Repeat("d", 60) + ".example.com"
	code, body, _ = alice.do("POST", "/assignments/"+id+"/invites", url.Values{"_csrf": {tok}, "name": {"Long"}, "email": {long}}, nil)
	if code != 422 || !strings.Contains(body, fmt.Sprintf("email: is %d characters long; an email address has at most 254", len(long))) {
		t.Fatalf("long invite email (form): %d %.1500s", code, body)
	}
	code, body = doJSON(alice, "POST", "/api/v1/assignments/"+id+"/invites", `{"name":"Long","email":"`+strings.Repeat("x", 5000)+`@example.com"}`, api)
	if code != 422 || !strings.Contains(body, `"error":"email: is 5012 characters long`) {
		t.Fatalf("long invite email (API): %d %.500s", code, body)
	}
}
