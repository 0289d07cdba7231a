package server_test

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/opsdojo/opsdojo/accounts"
	"github.com/opsdojo/opsdojo/apperr"
	"github.com/opsdojo/opsdojo/assignments"
	"github.com/opsdojo/opsdojo/attempts"
	"github.com/opsdojo/opsdojo/challenges"
	"github.com/opsdojo/opsdojo/ids"
	"github.com/opsdojo/opsdojo/server"
	"github.com/opsdojo/opsdojo/store/storetest"
	"github.com/opsdojo/opsdojo/termclient"
	"github.com/opsdojo/opsdojo/terminal"
)

// Secrets of candidate A's take-home: no answer to invite B's link holder
// may contain them.
const (
	secretFile   = "A-SECRET-FILE"
	secretResult = "A-SECRET-RESULT"
	secretCast   = "A-SECRET-CAST"
	secretHint   = "A-SECRET-HINT"
)

// scopeAttempts is the attempts service over the real store, without
// sandboxes or a grader: every attempt gets a made-up sandbox ID, files
// read back as secretFile, and writes are remembered per attempt. It
// serves both the assignments service and the server's attempt routes.
type scopeAttempts struct {
	st *storetest.Store
	ch *challenges.Challenge

	mu     sync.Mutex
	writes map[string][]string // attempt -> contents written
}

func (s *scopeAttempts) Start(ctx context.Context, id string, o attempts.StartOptions) (*attempts.Attempt, error) {
	a := &attempts.Attempt{ChallengeID: id, ChallengeVersion: s.ch.Version, Mode: o.Mode, State: attempts.StateActive, MaxScore: 100,
		StartedAt: time.Now().UTC(), DeadlineAt: o.Deadline, SandboxID: "sbx-" + ids.New()}
	uid := o.UserID
	a.UserID = &uid
	if o.InviteID != "" {
		inv := o.InviteID
		a.InviteID = &inv
	}
	return a, s.st.CreateAttempt(ctx, a)
}

func (s *scopeAttempts) Get(ctx context.Context, id, userID string) (*attempts.Attempt, error) {
	a, err := s.st.AttemptByID(ctx, id)
	if apperr.ErrorCode(err) == apperr.NotFound || (err == nil && userID != "" && (a.UserID == nil || *a.UserID != userID)) {
		return nil, attempts.ErrNotFound
	}
	return a, err
}

func (s *scopeAttempts) History(ctx context.Context, userID string) ([]attempts.Attempt, error) {
	return s.st.AttemptsByUser(ctx, userID, 100)
}

func (s *scopeAttempts) Challenge(*attempts.Attempt) (*challenges.Challenge, error) { return s.ch, nil }

func (s *scopeAttempts) Check(ctx context.Context, a *attempts.Attempt) (*attempts.GradingJob, error) {
	return s.st.EnqueueJob(ctx, a.ID, attempts.ReasonCheck)
}

func (s *scopeAttempts) Wait(ctx context.Context, jobID string) (*attempts.GradingJob, *attempts.CheckRun, error) {
	j, err := s.st.JobByID(ctx, jobID)
	if err != nil {
		return nil, nil, err
	}
	run, err := s.st.LatestCheckRun(ctx, j.AttemptID)
	if err != nil {
		return j, nil, nil
	}
	return j, run, nil
}

func (s *scopeAttempts) Results(ctx context.Context, a *attempts.Attempt) (*attempts.CheckRun, error) {
	return s.st.LatestCheckRun(ctx, a.ID)
}

func (s *scopeAttempts) Hints(context.Context, *attempts.Attempt) ([]attempts.HintView, error) {
	return []attempts.HintView{{Index: 0, Cost: 10}}, nil
}

func (s *scopeAttempts) RevealHint(_ context.Context, _ *attempts.Attempt, i int) (attempts.HintView, error) {
	return attempts.HintView{Index: i, Cost: 10, Text: secretHint, Revealed: true}, nil
}

func (s *scopeAttempts) HintCost(context.Context, *attempts.Attempt) (int, error) { return 0, nil }
func (s *scopeAttempts) Reset(context.Context, *attempts.Attempt) error           { return nil }

func (s *scopeAttempts) Files(*attempts.Attempt) ([]attempts.EditableFile, error) {
	return []attempts.EditableFile{{Path: "/workspace/app.conf", Language: "ini"}}, nil
}

func (s *scopeAttempts) ReadFile(context.Context, *attempts.Attempt, string) ([]byte, error) {
	return []byte(secretFile), nil
}

func (s *scopeAttempts) WriteFile(_ context.Context, a *attempts.Attempt, _ string, content []byte) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.writes[a.ID] = append(s.writes[a.ID], string(content))
	return nil
}

func (s *scopeAttempts) written(attemptID string) []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return slices.Clone(s.writes[attemptID])
}

func (s *scopeAttempts) Deadline(a *attempts.Attempt) time.Time {
	if a.DeadlineAt != nil {
		return *a.DeadlineAt
	}
	return time.Time{}
}

func (s *scopeAttempts) End(ctx context.Context, a *attempts.Attempt, state attempts.State) error {
	return s.st.UpdateAttempt(ctx, a.ID, attempts.Update{State: new(state)})
}

func (s *scopeAttempts) Close(ctx context.Context, a *attempts.Attempt, at time.Time) error {
	return closeAttempt(ctx, s.st, a, at)
}

func (s *scopeAttempts) Freeze(ctx context.Context, a *attempts.Attempt, paused func(context.Context), keep func(context.Context) []string) []string {
	paused(ctx)
	return keep(ctx)
}

func (s *scopeAttempts) Finish(ctx context.Context, a *attempts.Attempt, _ time.Duration, keep func(context.Context) error) ([]string, error) {
	if err := keep(ctx); err != nil {
		return nil, err
	}
	return nil, s.End(ctx, a, attempts.StateSubmitted)
}

// typedPTY is a shell that keeps what is typed into it.
type typedPTY struct {
	att  *typedAttacher
	sb   string
	done chan struct{}
	once sync.Once
}

func (p *typedPTY) Read(b []byte) (int, error) {
	<-p.done
	return 0, io.EOF
}

func (p *typedPTY) Write(b []byte) (int, error) {
	p.att.mu.Lock()
	defer p.att.mu.Unlock()
	p.att.typed[p.sb] = append(p.att.typed[p.sb], b...)
	return len(b), nil
}

func (p *typedPTY) Close() error {
	p.once.Do(func() { close(p.done) })
	return nil
}

func (p *typedPTY) Resize(context.Context, uint, uint) error { return nil }

// typedAttacher attaches typedPTYs and records every byte typed, per sandbox.
type typedAttacher struct {
	mu    sync.Mutex
	typed map[string][]byte
}

func (a *typedAttacher) Attach(_ context.Context, sandboxID string, _ terminal.Size) (terminal.PTY, error) {
	return &typedPTY{att: a, sb: sandboxID, done: make(chan struct{})}, nil
}

func (a *typedAttacher) typedInto(sandboxID string) string {
	a.mu.Lock()
	defer a.mu.Unlock()
	return string(a.typed[sandboxID])
}

// castFiles serves every recording as secretCast.
type castFiles struct{}

func (castFiles) Open(string) (io.ReadCloser, error) {
	return io.NopCloser(strings.NewReader(secretCast)), nil
}

func (castFiles) OpenCompressed(string) (io.ReadCloser, error) {
	return io.NopCloser(strings.NewReader(secretCast)), nil
}

// scopeWorld is a served opsdojo with take-homes, the attempt routes,
// terminals and recordings, on a real database.
type scopeWorld struct {
	srv   *server.Server
	st    *storetest.Store
	svc   *assignments.Service
	att   *scopeAttempts
	tty   *typedAttacher
	base  string
	users map[string]*accounts.User
}

func newScopeWorld(t *testing.T, dialect string) *scopeWorld {
	t.Helper()
	st := storetest.Open(t, dialect)
	ch, err := challenges.Load("../cmd/opsdojo/testdata/challenges/edit-config")
	if err != nil {
		t.Fatal(err)
	}
	log := slog.New(slog.DiscardHandler)
	acc := accounts.New(st, accounts.Config{}, log, time.Now)
	ctx := context.Background()
	w := &scopeWorld{st: st, users: map[string]*accounts.User{}}
	for _, u := range []accounts.NewUser{
		{Email: "admin@example.com", Name: "Admin", Password: "admin password 1", Role: accounts.RoleAdmin},
		{Email: "alice@example.com", Name: "Alice", Password: "manager password 1", Role: accounts.RoleManager},
		{Email: "bob@example.com", Name: "Bob", Password: "manager password 2", Role: accounts.RoleManager},
		{Email: "carl@example.com", Name: "Carl", Password: "candidate password", Role: accounts.RoleCandidate},
	} {
		nu, err := acc.CreateUser(ctx, u)
		if err != nil {
			t.Fatal(err)
		}
		w.users[u.Email] = nu
	}
	w.att = &scopeAttempts{st: st, ch: ch, writes: map[string][]string{}}
	w.svc = assignments.New(st, w.att, noSandboxes{}, oneChallenge{ch}, nil, assignments.Config{PublicURL: "http://opsdojo.test"}, log, time.Now)
	w.tty = &typedAttacher{typed: map[string][]byte{}}
	hub := terminal.NewHub(w.tty, terminal.Config{Grace: time.Second, Log: log})
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	w.base = "http://" + ln.Addr().String()
	srv, err := server.New(server.Config{PublicURL: w.base, ShutdownTimeout: 5 * time.Second}, server.Deps{Log: log, Database: st,
		Docker: server.PingFunc(func(context.Context) error { return nil }), Accounts: acc, Catalog: oneChallenge{ch}, Attempts: w.att,
		Review:   server.ReviewDeps{Service: w.svc},
		Terminal: server.TerminalDeps{Hub: hub, Tickets: terminal.NewTickets(0, nil), Recordings: st, RecordingFiles: castFiles{}}})
	if err != nil {
		t.Fatal(err)
	}
	w.srv = srv
	sctx, stop := context.WithCancel(context.Background())
	served := make(chan error, 1)
	go func() { served <- srv.Serve(sctx, ln) }()
	t.Cleanup(func() {
		stop()
		select {
		case <-served:
		case <-time.After(15 * time.Second):
			t.Errorf("server did not shut down")
		}
		cctx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
		defer cancel()
		_ = hub.Shutdown(cctx)
	})
	return w
}

func (w *scopeWorld) browser(t *testing.T) *browser {
	return &browser{t: t, srv: w.srv, cookies: map[string]string{}}
}

func (w *scopeWorld) login(t *testing.T, email, password string) *browser {
	t.Helper()
	b := w.browser(t)
	tok := b.csrf("/login")
	if code, body, _ := b.do("POST", "/login", url.Values{"_csrf": {tok}, "email": {email}, "password": {password}}, nil); code != 303 {
		t.Fatalf("login %s: %d %s", email, code, body)
	}
	return b
}

// invite makes an assignment owned by manager and invites email; it
// returns the invite link's token.
func (w *scopeWorld) invite(t *testing.T, manager, email string) string {
	t.Helper()
	ctx := context.Background()
	actor := assignments.Actor{ID: w.users[manager].ID, Role: accounts.RoleManager}
	a, err := w.svc.CreateAssignment(ctx, actor, assignments.NewAssignment{Title: "take-home of " + manager, ChallengeIDs: []string{"edit-config"},
		TimeLimit: time.Hour, Deadline: time.Now().Add(48 * time.Hour), HintsAllowed: true})
	if err != nil {
		t.Fatal(err)
	}
	link, err := w.svc.Invite(ctx, actor, a.ID, assignments.NewInvite{Name: "Cora", Email: email})
	if err != nil {
		t.Fatal(err)
	}
	return link.Token
}

// open presses Start on an invite link in b and returns the invite ID.
func (w *scopeWorld) open(t *testing.T, b *browser, token string) string {
	t.Helper()
	tok := b.csrf("/invite/" + token)
	code, body, hdr := b.do("POST", "/invite/"+token, url.Values{"_csrf": {tok}}, nil)
	if code != 303 || !strings.HasPrefix(hdr.Get("Location"), "/take/") {
		t.Fatalf("open invite: %d %.1000s", code, body)
	}
	return strings.TrimPrefix(hdr.Get("Location"), "/take/")
}

// sessionCSRF is the CSRF token of b's session (from the API).
func sessionCSRF(t *testing.T, b *browser) string {
	t.Helper()
	code, body, _ := b.do("GET", "/api/v1/me", nil, map[string]string{"Accept": "application/json"})
	if code != 200 {
		t.Fatalf("/api/v1/me: %d %s", code, body)
	}
	i := strings.Index(body, `"csrf_token":"`)
	if i < 0 {
		t.Fatalf("no csrf token in %s", body)
	}
	rest := body[i+len(`"csrf_token":"`):]
	return rest[:strings.IndexByte(rest, '"')]
}

// victim is candidate A's opened take-home: its invite, attempt,
// recording, sandbox and check run.
type victim struct {
	inviteID, attemptID, recordingID, sandboxID string
}

// setUpVictim opens manager A's invite for c@x.test in cand's browser and
// gives the attempt a recording and a check run with secrets in them.
func (w *scopeWorld) setUpVictim(t *testing.T, cand *browser, token string) victim {
	t.Helper()
	ctx := context.Background()
	v := victim{inviteID: w.open(t, cand, token)}
	ats, err := w.st.AttemptsByInvite(ctx, v.inviteID)
	if err != nil || len(ats) != 1 {
		t.Fatalf("attempts of %s: %v %v", v.inviteID, ats, err)
	}
	v.attemptID, v.sandboxID = ats[0].ID, ats[0].SandboxID
	v.recordingID = ids.New()
	if err := w.st.StartRecording(ctx, v.recordingID, v.attemptID, "1", "a/1.cast.gz", time.Now()); err != nil {
		t.Fatal(err)
	}
	if _, err := w.st.EnqueueJob(ctx, v.attemptID, attempts.ReasonCheck); err != nil {
		t.Fatal(err)
	}
	j, err := w.st.LeaseJob(ctx, "test", time.Now(), time.Minute)
	if err != nil {
		t.Fatal(err)
	}
	now := time.Now().UTC()
	if err := w.st.FinishJob(ctx, j.ID, "test", &attempts.CheckRun{AttemptID: v.attemptID, Score: 50, MaxScore: 100, StartedAt: now, FinishedAt: now,
		Results: []attempts.CheckResult{{CheckID: "port", Title: "listens on 8080", Passed: true, Points: 50, MaxPoints: 50, Message: secretResult}}}); err != nil {
		t.Fatal(err)
	}
	return v
}

// scopeRow is one take-home route, filled in with invite A's resources.
type scopeRow struct {
	method, route, path, body string
}

func takeHomeRows(v victim) []scopeRow {
	inv, at, rec := v.inviteID, v.attemptID, v.recordingID
	return []scopeRow{
		{"GET", "/take/:invite", "/take/" + inv, ""},
		{"POST", "/take/:invite/start", "/take/" + inv + "/start", ""},
		{"POST", "/take/:invite/submit", "/take/" + inv + "/submit", ""},
		{"GET", "/api/v1/take/:invite", "/api/v1/take/" + inv, ""},
		{"POST", "/api/v1/take/:invite/submit", "/api/v1/take/" + inv + "/submit", ""},
		{"GET", "/attempts/:id", "/attempts/" + at, ""},
		{"GET", "/attempts/:attempt/terminal", "/attempts/" + at + "/terminal", ""},
		{"GET", "/api/v1/attempts/:id", "/api/v1/attempts/" + at, ""},
		{"POST", "/api/v1/attempts/:id/check", "/api/v1/attempts/" + at + "/check", ""},
		{"GET", "/api/v1/attempts/:id/results", "/api/v1/attempts/" + at + "/results", ""},
		{"POST", "/api/v1/attempts/:id/hints/:n", "/api/v1/attempts/" + at + "/hints/0", ""},
		{"POST", "/api/v1/attempts/:id/reset", "/api/v1/attempts/" + at + "/reset", ""},
		{"GET", "/api/v1/attempts/:id/files", "/api/v1/attempts/" + at + "/files?path=/workspace/app.conf", ""},
		{"PUT", "/api/v1/attempts/:id/files", "/api/v1/attempts/" + at + "/files?path=/workspace/app.conf", `{"content":"written by B"}`},
		{"POST", "/api/v1/attempts/:attempt/terminals/:term/ticket", "/api/v1/attempts/" + at + "/terminals/1/ticket", ""},
		{"GET", "/ws/terminal/:attempt/:term", "/ws/terminal/" + at + "/1", ""},
		{"GET", "/recordings/:id", "/recordings/" + rec, ""},
		{"GET", "/recordings/:id/cast", "/recordings/" + rec + "/cast", ""},
		{"GET", "/recordings/:id/download", "/recordings/" + rec + "/download", ""},
		{"GET", "/review/:invite", "/review/" + inv, ""},
		{"GET", "/api/v1/review/:invite", "/api/v1/review/" + inv, ""},
		{"POST", "/review/:invite/attempts/:attempt", "/review/" + inv + "/attempts/" + at, "notes=by+B"},
		{"POST", "/api/v1/review/:invite/attempts/:attempt", "/api/v1/review/" + inv + "/attempts/" + at, "notes=by+B"},
	}
}

// call sends one row as b, with b's session CSRF token.
func call(b *browser, csrf string, r scopeRow) (int, string) {
	hdr := map[string]string{"X-CSRF-Token": csrf}
	if strings.HasPrefix(r.path, "/api/") {
		hdr["Accept"] = "application/json"
	}
	var form url.Values
	switch {
	case strings.HasPrefix(r.body, "{"):
		hdr["Content-Type"] = "application/json"
	case r.body != "":
		form, _ = url.ParseQuery(r.body)
	}
	if r.route == "/ws/terminal/:attempt/:term" {
		hdr["Connection"], hdr["Upgrade"], hdr["Sec-WebSocket-Version"], hdr["Sec-WebSocket-Key"] = "Upgrade", "websocket", "13", "dGhlIHNhbXBsZSBub25jZQ=="
	}
	if strings.HasPrefix(r.body, "{") {
		return doJSON(b, r.method, r.path, r.body, hdr)
	}
	code, body, _ := b.do(r.method, r.path, form, hdr)
	return code, body
}

// doJSON sends a raw JSON body (browser.do sends forms).
func doJSON(b *browser, method, path, body string, hdr map[string]string) (int, string) {
	b.t.Helper()
	req, _ := newRequest(method, path, body)
	for k, v := range hdr {
		req.Header.Set(k, v)
	}
	for k, v := range b.cookies {
		req.Header.Add("Cookie", k+"="+v)
	}
	resp, err := b.srv.App().Test(req, 10000)
	if err != nil {
		b.t.Fatal(err)
	}
	defer resp.Body.Close()
	data, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(data)
}

// leaks names the first secret of A's take-home found in the answer to
// a request for path (an ID the request named may be echoed back).
func leaks(body string, v victim, path string) string {
	for _, s := range []string{secretFile, secretResult, secretCast, secretHint, v.attemptID, v.recordingID, v.sandboxID} {
		if strings.Contains(body, s) && !strings.Contains(path, s) {
			return s
		}
	}
	return ""
}

// TestInviteCannotTakeOverAnotherInvite is the attack of issue #11: a
// candidate account made by manager A's invite is entered by manager B's
// invite for the same email. B's link holder must see and touch nothing
// of A's take-home; the candidate keeps working.
func TestInviteCannotTakeOverAnotherInvite(t *testing.T) {
	t.Parallel()
	for _, dialect := range storetest.Dialects {
		t.Run(dialect, func(t *testing.T) {
			t.Parallel()
			w := newScopeWorld(t, dialect)
			tokA := w.invite(t, "alice@example.com", "cora@example.com")
			cand := w.browser(t)
			v := w.setUpVictim(t, cand, tokA)

			// Manager B invites the same email; whoever holds B's link opens it.
			tokB := w.invite(t, "bob@example.com", "cora@example.com")
			mallory := w.browser(t)
			invB := w.open(t, mallory, tokB)
			if code, body, _ := mallory.do("GET", "/take/"+invB, nil, nil); code != 200 || !strings.Contains(body, "take-home of bob") {
				t.Fatalf("B's own take-home: %d %.800s", code, body)
			}
			mcsrf := sessionCSRF(t, mallory)

			// Nothing of A's take-home answers.
			for _, r := range takeHomeRows(v) {
				code, body := call(mallory, mcsrf, r)
				if code != 403 && code != 404 {
					t.Errorf("%s %s with B's session: %d, want 403 or 404 (%.300s)", r.method, r.path, code, body)
				}
				if s := leaks(body, v, r.path); s != "" {
					t.Errorf("%s %s with B's session shows %q", r.method, r.path, s)
				}
			}
			// Nor do the lists of the account's work.
			for _, p := range []string{"/take", "/api/v1/attempts", "/me/attempts", "/challenges/edit-config", "/api/v1/me", "/"} {
				code, body, hdr := mallory.do("GET", p, nil, map[string]string{"Accept": "application/json"})
				if s := leaks(body, v, p); s != "" || strings.Contains(hdr.Get("Location"), v.inviteID) {
					t.Errorf("GET %s with B's session: %d shows %q (location %q)", p, code, s, hdr.Get("Location"))
				}
			}
			// Nor act on the shared account: sign it out everywhere (A's
			// candidate too) or give it a password (a login reaching A).
			for _, r := range []scopeRow{
				{"POST", "/logout-all", "/logout-all", ""},
				{"POST", "/api/v1/logout-all", "/api/v1/logout-all", ""},
				{"POST", "/me/password", "/me/password", "current=&new=a+brand+new+password"},
				{"POST", "/api/v1/me/password", "/api/v1/me/password", `{"current":"","new":"a brand new password"}`},
			} {
				if code, body := call(mallory, mcsrf, r); code != 403 {
					t.Errorf("%s %s with B's session: %d, want 403 (%.300s)", r.method, r.path, code, body)
				}
			}
			if u, err := w.st.UserByEmail(context.Background(), "cora@example.com"); err != nil || u.PasswordHash != "" {
				t.Errorf("the shared account got a password: %v", err)
			}

			// B's link holder cannot type in A's terminal: no ticket, and no
			// websocket without one.
			ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
			defer cancel()
			wsURL := server.TerminalPath(v.attemptID, "1") + "?ticket=forged"
			if code, body := call(mallory, mcsrf, scopeRow{"POST", "", "/api/v1/attempts/" + v.attemptID + "/terminals/1/ticket", ""}); code == 200 {
				wsURL = ticketURL(t, body)
			}
			if c, err := termclient.Dial(ctx, w.base+wsURL, "", termclient.Options{}); err == nil {
				_, _ = c.Write([]byte("echo typed-by-mallory\n"))
				for i := 0; i < 100 && !strings.Contains(w.tty.typedInto(v.sandboxID), "mallory"); i++ {
					time.Sleep(20 * time.Millisecond)
				}
				_ = c.Close()
			}
			if got := w.tty.typedInto(v.sandboxID); strings.Contains(got, "mallory") {
				t.Errorf("B's link holder typed into A's terminal: %q", got)
			}
			if ws := w.att.written(v.attemptID); len(ws) != 0 {
				t.Errorf("B's link holder wrote A's files: %q", ws)
			}
			ctx2 := context.Background()
			if c, err := w.st.ClaimByInvite(ctx2, v.inviteID); err != nil || c.SubmitRequestedAt != nil {
				t.Errorf("A's take-home was submitted by B's link holder: %+v %v", c, err)
			}
			if hr, _ := w.st.HintReveals(ctx2, v.attemptID); len(hr) != 0 {
				t.Errorf("hints of A's attempt revealed: %+v", hr)
			}

			// The candidate still has everything, and types in their terminal.
			ccsrf := sessionCSRF(t, cand)
			for _, r := range []scopeRow{
				{"GET", "", "/take/" + v.inviteID, ""},
				{"GET", "", "/api/v1/attempts/" + v.attemptID + "/files?path=/workspace/app.conf", ""},
				{"GET", "", "/api/v1/attempts/" + v.attemptID + "/results", ""},
				{"GET", "", "/recordings/" + v.recordingID + "/cast", ""},
			} {
				if code, body := call(cand, ccsrf, r); code != 200 {
					t.Errorf("candidate %s %s: %d %.300s", r.method, r.path, code, body)
				}
			}
			code, body := call(cand, ccsrf, scopeRow{"POST", "", "/api/v1/attempts/" + v.attemptID + "/terminals/1/ticket", ""})
			if code != 200 {
				t.Fatalf("candidate's ticket: %d %s", code, body)
			}
			c, err := termclient.Dial(ctx, w.base+ticketURL(t, body), "", termclient.Options{})
			if err != nil {
				t.Fatalf("candidate's terminal: %v", err)
			}
			defer c.Close()
			if _, err := c.Write([]byte("echo typed-by-cora\n")); err != nil {
				t.Fatal(err)
			}
			for i := 0; i < 200 && !strings.Contains(w.tty.typedInto(v.sandboxID), "typed-by-cora"); i++ {
				time.Sleep(25 * time.Millisecond)
			}
			if got := w.tty.typedInto(v.sandboxID); !strings.Contains(got, "typed-by-cora") || strings.Contains(got, "mallory") {
				t.Fatalf("A's terminal received %q", got)
			}
		})
	}
}

// ticketURL is the websocket path of a ticket answer.
func ticketURL(t *testing.T, body string) string {
	t.Helper()
	var tk server.TerminalTicket
	if err := json.Unmarshal([]byte(body), &tk); err != nil || tk.URL == "" {
		t.Fatalf("ticket answer %q: %v", body, err)
	}
	return tk.URL
}

// TestInviteScopedSessionRouteTable walks every take-home route with a
// session opened by invite B's link against invite A's resources (same
// candidate account), and checks that the table covers every take-home
// route the server mounts, so a new route cannot skip the scope check.
func TestInviteScopedSessionRouteTable(t *testing.T) {
	t.Parallel()
	for _, dialect := range storetest.Dialects {
		t.Run(dialect, func(t *testing.T) {
			t.Parallel()
			w := newScopeWorld(t, dialect)
			cand := w.browser(t)
			v := w.setUpVictim(t, cand, w.invite(t, "alice@example.com", "cora@example.com"))
			// The second invite is from the same manager: scope is per invite,
			// not per manager.
			mallory := w.browser(t)
			w.open(t, mallory, w.invite(t, "alice@example.com", "cora@example.com"))
			mcsrf := sessionCSRF(t, mallory)
			rows := takeHomeRows(v)
			for _, r := range rows {
				t.Run(r.method+" "+r.route, func(t *testing.T) {
					code, body := call(mallory, mcsrf, r)
					if code != 403 && code != 404 {
						t.Errorf("%s %s: %d, want 403 or 404 (%.300s)", r.method, r.path, code, body)
					}
					if s := leaks(body, v, r.path); s != "" {
						t.Errorf("%s %s shows %q", r.method, r.path, s)
					}
				})
			}
			covered := map[string]bool{}
			for _, r := range rows {
				covered[r.method+" "+r.route] = true
			}
			for _, rt := range w.srv.App().GetRoutes(true) {
				if rt.Method == "HEAD" || !isTakeHomeRoute(rt.Path) {
					continue
				}
				if !covered[rt.Method+" "+rt.Path] {
					t.Errorf("take-home route %s %s is not in the scope table", rt.Method, rt.Path)
				}
			}
		})
	}
}

// isTakeHomeRoute says whether a route serves a take-home, an attempt, a
// terminal, a recording or a review.
func isTakeHomeRoute(p string) bool {
	for _, pre := range []string{"/take/", "/api/v1/take/", "/attempts/", "/api/v1/attempts/", "/ws/terminal/", "/recordings/", "/review/", "/api/v1/review/"} {
		if strings.HasPrefix(p, pre) {
			return true
		}
	}
	return false
}

// newRequest builds a test request with a raw body.
func newRequest(method, path, body string) (*http.Request, error) {
	return http.NewRequest(method, path, bytes.NewReader([]byte(body)))
}

// withSession gives b a session made directly in the store (a session of
// an older server, or of an account changed since).
func (w *scopeWorld) withSession(t *testing.T, b *browser, u *accounts.User, inviteID *string) {
	t.Helper()
	tok := accounts.NewToken()
	now := time.Now().UTC()
	if err := w.st.CreateSession(context.Background(), &accounts.SessionRecord{ID: accounts.HashToken(tok), UserID: u.ID, CSRFToken: accounts.NewToken(),
		CreatedAt: now, LastSeenAt: now, ExpiresAt: now.Add(time.Hour), InviteID: inviteID}); err != nil {
		t.Fatal(err)
	}
	b.cookies["opsdojo_session"] = tok
}

// TestInviteSessionScopeModel: what an invite session reaches, and what a
// password login reaches, on SQLite and PostgreSQL.
func TestInviteSessionScopeModel(t *testing.T) {
	t.Parallel()
	for _, dialect := range storetest.Dialects {
		t.Run(dialect, func(t *testing.T) {
			t.Parallel()
			w := newScopeWorld(t, dialect)
			ctx := context.Background()
			acceptJSON := map[string]string{"Accept": "application/json"}

			t.Run("an invite link never signs in a staff account", func(t *testing.T) {
				for _, role := range []accounts.Role{accounts.RoleManager, accounts.RoleAuthor, accounts.RoleAdmin} {
					email := "later-" + string(role) + "@example.com"
					tok := w.invite(t, "alice@example.com", email) // no account yet: the invite is allowed
					if err := w.st.CreateUser(ctx, &accounts.User{Email: email, Name: string(role), Role: role, PasswordHash: "$argon2id$x", CreatedAt: time.Now(), UpdatedAt: time.Now()}); err != nil {
						t.Fatal(err)
					}
					b := w.browser(t)
					csrf := b.csrf("/invite/" + tok)
					code, body, _ := b.do("POST", "/invite/"+tok, url.Values{"_csrf": {csrf}}, nil)
					if code != 409 || !strings.Contains(body, "staff account") || b.cookies["opsdojo_session"] != "" {
						t.Fatalf("%s email: %d, session cookie %q: %.500s", role, code, b.cookies["opsdojo_session"], body)
					}
					if code, _, _ := b.do("GET", "/assignments", nil, nil); code != 303 {
						t.Fatalf("%s: after the refused invite, /assignments answers %d", role, code)
					}
				}
				// An invite session whose account became staff since is no
				// session at all.
				inv := "some-invite"
				b := w.browser(t)
				w.withSession(t, b, w.users["bob@example.com"], &inv)
				for _, p := range []string{"/assignments", "/api/v1/assignments", "/api/v1/me"} {
					if code, body, _ := b.do("GET", p, nil, nil); code != 303 && code != 401 {
						t.Errorf("GET %s with an invite session of a manager: %d %.200s", p, code, body)
					}
				}
			})

			tokA := w.invite(t, "alice@example.com", "cora@example.com")
			tokB := w.invite(t, "bob@example.com", "cora@example.com")
			cand := w.browser(t)
			v := w.setUpVictim(t, cand, tokA)

			t.Run("an invite session reaches its take-home only", func(t *testing.T) {
				csrf := sessionCSRF(t, cand)
				for _, tc := range []struct {
					method, path string
					code         int
					location     string
				}{
					{"GET", "/", 303, "/take/" + v.inviteID},
					{"GET", "/take", 303, "/take/" + v.inviteID},
					{"GET", "/take/" + v.inviteID, 200, ""},
					{"GET", "/attempts/" + v.attemptID, 200, ""},
					{"GET", "/me/attempts", 403, ""},
					{"GET", "/api/v1/attempts", 403, ""},
					{"POST", "/api/v1/challenges/edit-config/attempts", 403, ""},
					{"POST", "/challenges/edit-config/start", 403, ""},
					{"GET", "/assignments", 403, ""},
					{"GET", "/login", 200, ""}, // shown as to a visitor: another account can log in here
				} {
					code, body, hdr := cand.do(tc.method, tc.path, nil, map[string]string{"X-CSRF-Token": csrf})
					if code != tc.code || hdr.Get("Location") != tc.location {
						t.Errorf("%s %s: %d %q, want %d %q (%.200s)", tc.method, tc.path, code, hdr.Get("Location"), tc.code, tc.location, body)
					}
				}
				// The layout offers nothing the scope refuses.
				_, page, _ := cand.do("GET", "/take/"+v.inviteID, nil, nil)
				for _, href := range []string{`href="/challenges"`, `href="/me/attempts"`, `href="/me/password"`} {
					if strings.Contains(page, href) {
						t.Errorf("the take-home page of an invite session links to %s, which answers 403", href)
					}
				}
				if !strings.Contains(page, `href="/take"`) {
					t.Errorf("the take-home page of an invite session has no link to the take-home")
				}
				if _, body, _ := cand.do("GET", "/me/attempts", nil, nil); !strings.Contains(body, "session opened by an invite link cannot do this") || !strings.Contains(body, "/take/"+v.inviteID) {
					t.Errorf("refusal does not say why: %.300s", body)
				}
			})

			t.Run("a used link moves the same account's browser to its take-home", func(t *testing.T) {
				// The same person opens B's link in the browser working on A.
				invB := w.open(t, cand, tokB)
				if code, _, _ := cand.do("GET", "/take/"+v.inviteID, nil, nil); code != 404 {
					t.Fatalf("A after opening B: %d", code)
				}
				// A's link, presented again, brings them back (and away from B).
				if code, _, hdr := cand.do("GET", "/invite/"+tokA, nil, nil); code != 200 || hdr.Get("Location") != "" {
					t.Fatalf("landing of A from B's session: %d %v", code, hdr)
				}
				if got := w.open(t, cand, tokA); got != v.inviteID {
					t.Fatalf("reopened %s, want %s", got, v.inviteID)
				}
				if code, _, _ := cand.do("GET", "/take/"+v.inviteID, nil, nil); code != 200 {
					t.Fatalf("A after reopening: %d", code)
				}
				if code, _, _ := cand.do("GET", "/take/"+invB, nil, nil); code != 404 {
					t.Fatalf("B after reopening A: %d", code)
				}
				if code, _, hdr := cand.do("GET", "/invite/"+tokA, nil, nil); code != 303 || hdr.Get("Location") != "/take/"+v.inviteID {
					t.Fatalf("landing of A from A's session: %d %v", code, hdr)
				}
				// Anyone else: the link is used.
				other := w.browser(t)
				csrf := other.csrf("/login")
				if code, body, _ := other.do("POST", "/invite/"+tokA, url.Values{"_csrf": {csrf}}, nil); code != 410 {
					t.Fatalf("used link in another browser: %d %.300s", code, body)
				}
			})

			t.Run("a session without an invite and without a password reaches no take-home", func(t *testing.T) {
				cora, err := w.st.UserByEmail(ctx, "cora@example.com")
				if err != nil {
					t.Fatal(err)
				}
				old := w.browser(t)
				w.withSession(t, old, cora, nil)
				for _, p := range []string{"/take/" + v.inviteID, "/api/v1/take/" + v.inviteID, "/api/v1/attempts/" + v.attemptID, "/recordings/" + v.recordingID + "/cast"} {
					if code, body, _ := old.do("GET", p, nil, acceptJSON); code != 403 && code != 404 {
						t.Errorf("GET %s: %d %.200s", p, code, body)
					}
				}
			})

			t.Run("a password login reaches every take-home of its account", func(t *testing.T) {
				tA := w.invite(t, "alice@example.com", "carl@example.com")
				tB := w.invite(t, "bob@example.com", "carl@example.com")
				anon := w.browser(t)
				csrf := anon.csrf("/invite/" + tA)
				if code, _, hdr := anon.do("POST", "/invite/"+tA, url.Values{"_csrf": {csrf}}, nil); code != 303 || !strings.HasPrefix(hdr.Get("Location"), "/login") {
					t.Fatalf("password account, logged out: %d %v", code, hdr)
				}
				carl := w.login(t, "carl@example.com", "candidate password")
				invA, invB := w.open(t, carl, tA), w.open(t, carl, tB)
				for _, p := range []string{"/take/" + invA, "/take/" + invB, "/me/attempts", "/api/v1/attempts"} {
					if code, body, _ := carl.do("GET", p, nil, nil); code != 200 {
						t.Errorf("carl GET %s: %d %.200s", p, code, body)
					}
				}
				if code, _, _ := carl.do("GET", "/take/"+v.inviteID, nil, nil); code != 404 {
					t.Errorf("carl reaches cora's take-home: %d", code)
				}
			})
		})
	}
}
