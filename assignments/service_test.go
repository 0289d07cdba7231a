package assignments_test

import (
	"bytes"
	"context"
	"encoding/csv"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/opsdojo/opsdojo/accounts"
	"github.com/opsdojo/opsdojo/apperr"
	"github.com/opsdojo/opsdojo/assignments"
	"github.com/opsdojo/opsdojo/attempts"
	"github.com/opsdojo/opsdojo/challenges"
	"github.com/opsdojo/opsdojo/store"
	"github.com/opsdojo/opsdojo/store/storetest"
)

type env struct {
	st    *store.Store
	svc   *assignments.Service
	att   *fakeAttempts
	sb    *fakeSandboxes
	clk   *clock
	mgr   assignments.Actor
	other assignments.Actor
	admin assignments.Actor
	cfg   assignments.Config
}

func newEnv(t *testing.T, dialect string, cfg assignments.Config) *env {
	t.Helper()
	st := storetest.Open(t, dialect)
	ch := loadEditConfig(t)
	clk := newClock()
	sb := newFakeSandboxes()
	att := &fakeAttempts{st: st, ch: ch, sb: sb, now: clk.Now}
	e := &env{st: st, att: att, sb: sb, clk: clk, cfg: cfg}
	e.svc = assignments.New(st, att, sb, fakeCatalog{ch}, nil, cfg, slog.New(slog.DiscardHandler), clk.Now)
	for _, u := range []struct {
		actor *assignments.Actor
		email string
		role  accounts.Role
	}{{&e.mgr, "mgr@example.com", accounts.RoleManager}, {&e.other, "other@example.com", accounts.RoleManager}, {&e.admin, "boss@example.com", accounts.RoleAdmin}} {
		rec := &accounts.User{Email: u.email, Name: u.email, Role: u.role, PasswordHash: "x", CreatedAt: clk.Now(), UpdatedAt: clk.Now()}
		if err := st.CreateUser(context.Background(), rec); err != nil {
			t.Fatal(err)
		}
		*u.actor = assignments.Actor{ID: rec.ID, Role: u.role}
	}
	return e
}

// restart returns a fresh Service over the same database, as after a
// server restart.
func (e *env) restart() *assignments.Service {
	return assignments.New(e.st, e.att, e.sb, fakeCatalog{e.att.ch}, nil, e.cfg, slog.New(slog.DiscardHandler), e.clk.Now)
}

func (e *env) assignment(t *testing.T, limit time.Duration) *assignments.Assignment {
	t.Helper()
	a, err := e.svc.CreateAssignment(context.Background(), e.mgr, assignments.NewAssignment{
		Title: "Platform take-home", ChallengeIDs: []string{"edit-config"}, TimeLimit: limit, Deadline: e.clk.Now().Add(72 * time.Hour), InterviewMode: true})
	if err != nil {
		t.Fatal(err)
	}
	return a
}

func (e *env) invite(t *testing.T, a *assignments.Assignment, email string) *assignments.InviteLink {
	t.Helper()
	l, err := e.svc.Invite(context.Background(), e.mgr, a.ID, assignments.NewInvite{Name: "Ada Lovelace", Email: email})
	if err != nil {
		t.Fatal(err)
	}
	return l
}

func TestCreateAssignmentValidation(t *testing.T) {
	t.Parallel()
	e := newEnv(t, store.DialectSQLite, assignments.Config{})
	future := e.clk.Now().Add(time.Hour)
	cases := []struct {
		name  string
		in    assignments.NewAssignment
		field string
	}{
		{"no title", assignments.NewAssignment{ChallengeIDs: []string{"edit-config"}, TimeLimit: time.Hour, Deadline: future}, "title"},
		{"no challenge", assignments.NewAssignment{Title: "x", TimeLimit: time.Hour, Deadline: future}, "challenges"},
		{"unknown challenge", assignments.NewAssignment{Title: "x", ChallengeIDs: []string{"nope"}, TimeLimit: time.Hour, Deadline: future}, "challenges"},
		{"short limit", assignments.NewAssignment{Title: "x", ChallengeIDs: []string{"edit-config"}, TimeLimit: time.Second, Deadline: future}, "time_limit"},
		{"past deadline", assignments.NewAssignment{Title: "x", ChallengeIDs: []string{"edit-config"}, TimeLimit: time.Hour, Deadline: e.clk.Now().Add(-time.Hour)}, "deadline"},
		{"long limit", assignments.NewAssignment{Title: "x", ChallengeIDs: []string{"edit-config"}, TimeLimit: assignments.MaxTimeLimit + time.Minute, Deadline: future}, "time_limit"},
		{"deadline in year 9999", assignments.NewAssignment{Title: "x", ChallengeIDs: []string{"edit-config"}, TimeLimit: time.Hour, Deadline: time.Date(9999, 12, 31, 23, 59, 0, 0, time.UTC)}, "deadline"},
		{"deadline a year and a day ahead", assignments.NewAssignment{Title: "x", ChallengeIDs: []string{"edit-config"}, TimeLimit: time.Hour, Deadline: e.clk.Now().AddDate(1, 0, 1)}, "deadline"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			_, err := e.svc.CreateAssignment(context.Background(), e.mgr, tc.in)
			var ve *assignments.ValidationError
			if !errors.As(err, &ve) || ve.Field != tc.field {
				t.Fatalf("error %v, want a validation error on %s", err, tc.field)
			}
		})
	}
}

func TestTakeHomeFlow(t *testing.T) {
	t.Parallel()
	for _, dialect := range storetest.Dialects {
		t.Run(dialect, func(t *testing.T) {
			t.Parallel()
			e := newEnv(t, dialect, assignments.Config{PublicURL: "http://127.0.0.1:1"})
			ctx := context.Background()
			a := e.assignment(t, time.Hour)
			link := e.invite(t, a, "Ada@Example.com")
			if len(link.Token) < 43 || link.Invite.TokenHash == link.Token || link.Invite.TokenHash != accounts.HashToken(link.Token) {
				t.Fatalf("token %q stored as %q: want 256 random bits, stored hashed", link.Token, link.Invite.TokenHash)
			}

			// The landing page changes nothing.
			land, _, err := e.svc.Landing(ctx, link.Token, nil)
			if err != nil || land.Assignment.ID != a.ID || land.TimeLimit != time.Hour {
				t.Fatalf("landing %+v %v", land, err)
			}
			if inv, _ := e.st.InviteByID(ctx, link.Invite.ID); inv.State != assignments.InvitePending {
				t.Fatalf("landing changed the invite: %s", inv.State)
			}

			e.clk.Add(10 * time.Minute)
			opened, err := e.svc.Open(ctx, assignments.OpenRequest{Token: link.Token, IP: "127.0.0.1"})
			if err != nil || opened.SessionToken == "" || opened.StartErr != nil {
				t.Fatalf("open %+v %v", opened, err)
			}
			cand, err := e.st.UserByEmail(ctx, "ada@example.com")
			if err != nil || cand.Role != accounts.RoleCandidate || cand.PasswordHash != "" {
				t.Fatalf("candidate %+v %v", cand, err)
			}
			if sess, err := e.st.SessionByID(ctx, accounts.HashToken(opened.SessionToken), e.clk.Now()); err != nil || sess.UserID != cand.ID {
				t.Fatalf("session %+v %v", sess, err)
			}
			// Single use: the link does not open again for anyone else…
			if _, err := e.svc.Open(ctx, assignments.OpenRequest{Token: link.Token}); !errors.Is(err, assignments.ErrInviteUsed) {
				t.Fatalf("reuse: %v, want ErrInviteUsed", err)
			}
			// …but brings its own candidate back to their work.
			if again, err := e.svc.Open(ctx, assignments.OpenRequest{Token: link.Token, Session: sessionOf(cand, opened.InviteID)}); err != nil || again.SessionToken != "" {
				t.Fatalf("reopen by candidate %+v %v", again, err)
			}

			take, err := e.svc.Take(ctx, assignments.SessionAccess(cand, opened.InviteID), opened.InviteID)
			if err != nil || len(take.Items) != 1 || take.Items[0].Attempt == nil || !take.Open {
				t.Fatalf("take %+v %v", take, err)
			}
			if _, err := e.svc.Take(ctx, assignments.Access{UserID: e.mgr.ID}, opened.InviteID); !errors.Is(err, assignments.ErrNotFound) {
				t.Fatalf("someone else's take: %v", err)
			}
			at := take.Items[0].Attempt
			if at.DeadlineAt == nil || !at.DeadlineAt.Equal(e.clk.Now().Add(time.Hour)) {
				t.Fatalf("attempt deadline %v, want open time + limit", at.DeadlineAt)
			}
			pol, err := e.svc.PolicyFor(ctx, at)
			if err != nil || !pol.Assignment || pol.HintsAllowed || !pol.Interview {
				t.Fatalf("policy %+v %v", pol, err)
			}

			// Work: fix one line, add a notes file and a binary.
			e.sb.write(at.SandboxID, "/workspace/app.conf", "port = 8080\ndebug = true\n", false)
			e.sb.write(at.SandboxID, "/workspace/NOTES.md", "changed the port\n", true)
			e.sb.write(at.SandboxID, "/usr/local/bin/tool", "\x00\x01ELF", true)
			e.clk.Add(20 * time.Minute)

			if err := e.svc.Submit(ctx, cand.ID, opened.InviteID); err != nil {
				t.Fatal(err)
			}
			if err := e.svc.Submit(ctx, cand.ID, opened.InviteID); !errors.Is(err, assignments.ErrAlreadySubmitted) {
				t.Fatalf("double submit: %v", err)
			}
			// Work stops at once: the attempt's deadline is now.
			if a2, _ := e.st.AttemptByID(ctx, at.ID); a2.DeadlineAt == nil || a2.DeadlineAt.After(e.clk.Now()) {
				t.Fatalf("attempt still open after submit: %v", a2.DeadlineAt)
			}

			// A restarted server freezes it.
			e.restart().Sweep(ctx)

			sub, err := e.st.SubmissionByAttempt(ctx, at.ID)
			if err != nil {
				t.Fatal(err)
			}
			for _, want := range []string{"--- a/workspace/app.conf", "+++ b/workspace/app.conf", "-port = 80\n", "+port = 8080\n", " debug = true\n", "+++ b/workspace/NOTES.md", "+changed the port"} {
				if !strings.Contains(sub.Diff, want) {
					t.Errorf("diff lacks %q:\n%s", want, sub.Diff)
				}
			}
			if sub.Automatic {
				t.Error("manual submission marked automatic")
			}
			if !strings.Contains(sub.Files, `"skipped":"binary file: not kept"`) || strings.Contains(sub.Files, "/proc/1") || strings.Contains(sub.Files, `"path":"/workspace",`) {
				t.Errorf("files %s", sub.Files)
			}
			if e.att.ended[at.ID] != attempts.StateSubmitted {
				t.Fatalf("attempt not ended as submitted: %v", e.att.ended)
			}
			if inv, _ := e.st.InviteByID(ctx, opened.InviteID); inv.State != assignments.InviteSubmitted {
				t.Fatalf("invite %s", inv.State)
			}

			// Review: others' assignments are invisible.
			if _, err := e.svc.Report(ctx, e.other, opened.InviteID); !errors.Is(err, assignments.ErrNotFound) {
				t.Fatalf("other manager's report: %v", err)
			}
			rep, err := e.svc.Report(ctx, e.admin, opened.InviteID)
			if err != nil {
				t.Fatal(err)
			}
			if rep.Candidate.Status != assignments.StatusSubmitted || rep.Candidate.Score != 50 || rep.Candidate.MaxScore != 100 || rep.Candidate.TimeUsed != 20*time.Minute {
				t.Fatalf("candidate row %+v", rep.Candidate)
			}
			var kinds []string
			for _, ev := range rep.Timeline {
				kinds = append(kinds, ev.Kind)
			}
			if got := strings.Join(kinds, ","); got != "open,start,submit,check,graded" && got != "open,start,check,submit,graded" && got != "open,start,submit,graded,check" {
				t.Fatalf("timeline %s", got)
			}
			if err := e.svc.CanReview(ctx, e.mgr, at.ID); err != nil {
				t.Fatalf("owner may review: %v", err)
			}
			if err := e.svc.CanReview(ctx, e.other, at.ID); !errors.Is(err, assignments.ErrNotFound) {
				t.Fatalf("other manager may review: %v", err)
			}
			if err := e.svc.CanReview(ctx, assignments.Actor{ID: cand.ID, Role: accounts.RoleCandidate}, at.ID); !errors.Is(err, assignments.ErrNotFound) {
				t.Fatalf("candidate may review: %v", err)
			}
			rubric := 80
			if err := e.svc.SaveReview(ctx, e.mgr, opened.InviteID, at.ID, "solid", &rubric); err != nil {
				t.Fatal(err)
			}
			bad := 101
			var ve *assignments.ValidationError
			if err := e.svc.SaveReview(ctx, e.mgr, opened.InviteID, at.ID, "", &bad); !errors.As(err, &ve) {
				t.Fatalf("rubric 101: %v", err)
			}
			if err := e.svc.SaveReview(ctx, e.other, opened.InviteID, at.ID, "x", nil); !errors.Is(err, assignments.ErrNotFound) {
				t.Fatalf("other manager's review: %v", err)
			}

			var buf bytes.Buffer
			if err := e.svc.WriteCSV(ctx, e.mgr, a.ID, &buf); err != nil {
				t.Fatal(err)
			}
			rows, err := csv.NewReader(&buf).ReadAll()
			if err != nil || len(rows) != 2 {
				t.Fatalf("csv %v %v", rows, err)
			}
			row := strings.Join(rows[1], "|")
			if !strings.HasPrefix(row, "Ada Lovelace|ada@example.com|submitted|") || !strings.Contains(row, "|1200|50|100|80|50/100") {
				t.Fatalf("csv row %q", row)
			}
			list, _ := e.svc.List(ctx, e.other)
			if len(list) != 0 {
				t.Fatalf("other manager lists %d assignments", len(list))
			}
			if list, _ := e.svc.List(ctx, e.admin); len(list) != 1 || list[0].Submitted != 1 {
				t.Fatalf("admin list %+v", list)
			}
		})
	}
}

func TestDeadlineSubmitsAutomatically(t *testing.T) {
	t.Parallel()
	e := newEnv(t, store.DialectSQLite, assignments.Config{})
	ctx := context.Background()
	a := e.assignment(t, 30*time.Minute)
	link := e.invite(t, a, "late@example.com")
	opened, err := e.svc.Open(ctx, assignments.OpenRequest{Token: link.Token})
	if err != nil {
		t.Fatal(err)
	}
	take, _ := e.svc.Take(ctx, assignments.SessionAccess(mustUser(t, e, "late@example.com"), opened.InviteID), opened.InviteID)
	at := take.Items[0].Attempt
	e.sb.write(at.SandboxID, "/workspace/app.conf", "port = 8080\ndebug = false\n", false)

	e.svc.Sweep(ctx) // before the deadline: nothing happens
	if _, err := e.st.SubmissionByAttempt(ctx, at.ID); apperr.ErrorCode(err) != apperr.NotFound {
		t.Fatalf("submitted early: %v", err)
	}
	e.clk.Add(31 * time.Minute)
	cand := mustUser(t, e, "late@example.com")
	if err := e.svc.Submit(ctx, cand.ID, opened.InviteID); !errors.Is(err, assignments.ErrDeadlinePassed) {
		t.Fatalf("late submit: %v, want ErrDeadlinePassed", err)
	}
	e.svc.Sweep(ctx)
	sub, err := e.st.SubmissionByAttempt(ctx, at.ID)
	if err != nil || !sub.Automatic {
		t.Fatalf("automatic submission %+v %v", sub, err)
	}
	if a2, _ := e.st.AttemptByID(ctx, at.ID); a2.Score != 100 || a2.State != attempts.StateSubmitted {
		t.Fatalf("attempt after auto-submit %+v", a2)
	}
	// After the automatic submission, the candidate still hears "time is up".
	if err := e.svc.Submit(ctx, cand.ID, opened.InviteID); !errors.Is(err, assignments.ErrDeadlinePassed) {
		t.Fatalf("submit after auto-submit: %v", err)
	}
	rep, err := e.svc.Report(ctx, e.mgr, opened.InviteID)
	if err != nil || rep.Candidate.Status != assignments.StatusAuto || rep.Candidate.TimeUsed != 30*time.Minute {
		t.Fatalf("report %+v %v", rep.Candidate, err)
	}
}

func mustUser(t *testing.T, e *env, email string) *accounts.User {
	t.Helper()
	u, err := e.st.UserByEmail(context.Background(), email)
	if err != nil {
		t.Fatal(err)
	}
	return u
}

func TestInviteRefusals(t *testing.T) {
	t.Parallel()
	e := newEnv(t, store.DialectSQLite, assignments.Config{})
	ctx := context.Background()
	a := e.assignment(t, time.Hour)

	expired, err := e.svc.Invite(ctx, e.mgr, a.ID, assignments.NewInvite{Email: "exp@example.com", TTL: time.Minute})
	if err != nil {
		t.Fatal(err)
	}
	revoked := e.invite(t, a, "rev@example.com")
	if err := e.svc.RevokeInvite(ctx, e.mgr, a.ID, revoked.Invite.ID); err != nil {
		t.Fatal(err)
	}
	// A self-registered candidate (with a password) must log in first.
	pw := &accounts.User{Email: "has-pw@example.com", Role: accounts.RoleCandidate, PasswordHash: "$argon2id$…", CreatedAt: e.clk.Now(), UpdatedAt: e.clk.Now()}
	if err := e.st.CreateUser(ctx, pw); err != nil {
		t.Fatal(err)
	}
	withPW := e.invite(t, a, "has-pw@example.com")
	e.clk.Add(2 * time.Minute)

	cases := []struct {
		name  string
		token string
		user  *accounts.User
		want  error
	}{
		{"unknown", "not-a-token", nil, assignments.ErrInviteUnknown},
		{"empty", "", nil, assignments.ErrInviteUnknown},
		{"too long", strings.Repeat("x", 500), nil, assignments.ErrInviteUnknown},
		{"expired", expired.Token, nil, assignments.ErrInviteExpired},
		{"revoked", revoked.Token, nil, assignments.ErrInviteRevoked},
		{"password account, logged out", withPW.Token, nil, assignments.ErrLoginRequired},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			if _, err := e.svc.Open(ctx, assignments.OpenRequest{Token: tc.token, Session: sessionOf(tc.user, "")}); !errors.Is(err, tc.want) {
				t.Fatalf("open: %v, want %v", err, tc.want)
			}
			if _, _, err := e.svc.Landing(ctx, tc.token, sessionOf(tc.user, "")); tc.want != assignments.ErrLoginRequired && !errors.Is(err, tc.want) {
				t.Fatalf("landing: %v, want %v", err, tc.want)
			}
		})
	}
	// Logged in as that account, the invite opens and keeps the session.
	o, err := e.svc.Open(ctx, assignments.OpenRequest{Token: withPW.Token, Session: sessionOf(pw, "")})
	if err != nil || o.SessionToken != "" {
		t.Fatalf("open as the account: %+v %v", o, err)
	}
	// Staff emails cannot be invited.
	var ve *assignments.ValidationError
	if _, err := e.svc.Invite(ctx, e.mgr, a.ID, assignments.NewInvite{Email: "boss@example.com"}); !errors.As(err, &ve) {
		t.Fatalf("inviting staff: %v", err)
	}
	if _, err := e.svc.Invite(ctx, e.mgr, a.ID, assignments.NewInvite{Email: "not an email"}); !errors.As(err, &ve) {
		t.Fatalf("bad email: %v", err)
	}
	if _, err := e.svc.Invite(ctx, e.other, a.ID, assignments.NewInvite{Email: "x@example.com"}); !errors.Is(err, assignments.ErrNotFound) {
		t.Fatalf("other manager invites: %v", err)
	}
	// The sweep marks expired invites.
	e.svc.Sweep(ctx)
	if inv, _ := e.st.InviteByID(ctx, expired.Invite.ID); inv.State != assignments.InviteExpired {
		t.Fatalf("expired invite state %s", inv.State)
	}
}

func TestStartFailureCanBeRetried(t *testing.T) {
	t.Parallel()
	e := newEnv(t, store.DialectSQLite, assignments.Config{})
	ctx := context.Background()
	a := e.assignment(t, time.Hour)
	link := e.invite(t, a, "retry@example.com")
	e.att.fail = errors.New("docker daemon down")
	o, err := e.svc.Open(ctx, assignments.OpenRequest{Token: link.Token})
	if err != nil || o.StartErr == nil {
		t.Fatalf("open with Docker down: %+v %v", o, err)
	}
	cand := mustUser(t, e, "retry@example.com")
	e.att.fail = nil
	if err := e.svc.StartMissing(ctx, assignments.SessionAccess(cand, o.InviteID), o.InviteID); err != nil {
		t.Fatal(err)
	}
	take, _ := e.svc.Take(ctx, assignments.SessionAccess(cand, o.InviteID), o.InviteID)
	if take.Items[0].Attempt == nil {
		t.Fatal("challenge still not started")
	}
}

// webhookSink is a receiver on 127.0.0.1 that fails the first n POSTs.
type webhookSink struct {
	mu      sync.Mutex
	failN   int
	got     []http.Header
	bodies  [][]byte
	badSigs int
}

func (w *webhookSink) ServeHTTP(rw http.ResponseWriter, r *http.Request) {
	body, _ := io.ReadAll(r.Body)
	w.mu.Lock()
	defer w.mu.Unlock()
	if err := assignments.Verify("s3cret", r.Header.Get(assignments.HeaderSignature), r.Header.Get(assignments.HeaderTimestamp), body, time.Now(), 5*time.Minute); err != nil {
		w.badSigs++
		http.Error(rw, err.Error(), http.StatusUnauthorized)
		return
	}
	if w.failN > 0 {
		w.failN--
		http.Error(rw, "try later", http.StatusServiceUnavailable)
		return
	}
	w.got = append(w.got, r.Header.Clone())
	w.bodies = append(w.bodies, body)
}

func TestWebhooksSignedAndRetried(t *testing.T) {
	t.Parallel()
	sink := &webhookSink{failN: 2}
	hs := httptest.NewServer(sink) // listens on 127.0.0.1
	defer hs.Close()
	cfg := assignments.Config{PublicURL: "http://opsdojo.test", Interval: 20 * time.Millisecond, Webhook: assignments.WebhookConfig{
		URL: hs.URL, Secret: "s3cret", MaxAttempts: 5, BaseBackoff: 10 * time.Millisecond, MaxBackoff: 40 * time.Millisecond, PollInterval: 10 * time.Millisecond}}
	e := newEnv(t, store.DialectSQLite, cfg)
	e.clk = nil // real time: backoff must elapse
	e.svc = assignments.New(e.st, e.att, e.sb, fakeCatalog{e.att.ch}, nil, cfg, slog.New(slog.DiscardHandler), time.Now)
	e.att.now = time.Now
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	a, err := e.svc.CreateAssignment(ctx, e.mgr, assignments.NewAssignment{Title: "T", ChallengeIDs: []string{"edit-config"}, TimeLimit: time.Hour, Deadline: time.Now().Add(time.Hour)})
	if err != nil {
		t.Fatal(err)
	}
	l, err := e.svc.Invite(ctx, e.mgr, a.ID, assignments.NewInvite{Name: "Hook", Email: "hook@example.com"})
	if err != nil {
		t.Fatal(err)
	}
	o, err := e.svc.Open(ctx, assignments.OpenRequest{Token: l.Token})
	if err != nil {
		t.Fatal(err)
	}
	if err := e.svc.Submit(ctx, mustUser(t, e, "hook@example.com").ID, o.InviteID); err != nil {
		t.Fatal(err)
	}
	done := make(chan struct{})
	go func() { e.svc.Run(ctx); close(done) }()
	for {
		delivered := 0
		log, _ := e.svc.Deliveries(ctx, 10)
		for _, d := range log {
			if d.State == assignments.DeliveryDelivered {
				delivered++
			}
		}
		if delivered == 3 {
			break
		}
		if ctx.Err() != nil {
			t.Fatalf("only %d webhooks delivered: %+v", delivered, log)
		}
		time.Sleep(20 * time.Millisecond)
	}
	cancel()
	<-done
	sink.mu.Lock()
	defer sink.mu.Unlock()
	if sink.badSigs != 0 {
		t.Fatalf("%d bad signatures", sink.badSigs)
	}
	events := map[string]string{}
	for i, h := range sink.got {
		events[h.Get(assignments.HeaderEvent)] = string(sink.bodies[i])
		if !strings.HasPrefix(h.Get(assignments.HeaderSignature), "sha256=") || h.Get(assignments.HeaderDelivery) == "" {
			t.Fatalf("headers %v", h)
		}
	}
	for _, ev := range []string{assignments.EventInviteOpened, assignments.EventSubmitted, assignments.EventGraded} {
		if events[ev] == "" {
			t.Fatalf("no %s event; got %v", ev, events)
		}
	}
	if g := events[assignments.EventGraded]; !strings.Contains(g, `"score":0`) || !strings.Contains(g, `"max_score":100`) || !strings.Contains(g, `"report_url":"http://opsdojo.test/review/`+o.InviteID+`"`) {
		t.Fatalf("graded payload %s", g)
	}
	log, err := e.svc.Deliveries(context.Background(), 10)
	if err != nil || len(log) != 3 {
		t.Fatalf("delivery log %v %v", log, err)
	}
	retried := 0
	for _, d := range log {
		if d.State != assignments.DeliveryDelivered {
			t.Fatalf("delivery %+v", d)
		}
		if d.Attempts > 1 {
			retried += d.Attempts - 1
		}
	}
	if retried != 2 {
		t.Fatalf("%d retries recorded, want 2", retried)
	}
}

func TestWebhookGivesUp(t *testing.T) {
	t.Parallel()
	hs := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { http.Error(w, "down", http.StatusInternalServerError) }))
	defer hs.Close()
	cfg := assignments.Config{Webhook: assignments.WebhookConfig{URL: hs.URL, Secret: "k", MaxAttempts: 3, BaseBackoff: 5 * time.Millisecond, PollInterval: 5 * time.Millisecond}}
	e := newEnv(t, store.DialectSQLite, cfg)
	e.svc = assignments.New(e.st, e.att, e.sb, fakeCatalog{e.att.ch}, nil, cfg, slog.New(slog.DiscardHandler), time.Now)
	e.att.now = time.Now
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	a, _ := e.svc.CreateAssignment(ctx, e.mgr, assignments.NewAssignment{Title: "T", ChallengeIDs: []string{"edit-config"}, TimeLimit: time.Hour, Deadline: time.Now().Add(time.Hour)})
	l, _ := e.svc.Invite(ctx, e.mgr, a.ID, assignments.NewInvite{Email: "gives-up@example.com"})
	if _, err := e.svc.Open(ctx, assignments.OpenRequest{Token: l.Token}); err != nil {
		t.Fatal(err)
	}
	done := make(chan struct{})
	go func() { e.svc.Run(ctx); close(done) }()
	for {
		log, _ := e.svc.Deliveries(ctx, 10)
		if len(log) == 1 && log[0].State == assignments.DeliveryFailed {
			if log[0].Attempts != 3 || log[0].LastStatus != 500 || !strings.Contains(log[0].LastError, "HTTP 500") {
				t.Fatalf("failed delivery %+v", log[0])
			}
			break
		}
		if ctx.Err() != nil {
			t.Fatalf("delivery never gave up: %+v", log)
		}
		time.Sleep(10 * time.Millisecond)
	}
	cancel()
	<-done
}

func TestVerifyRejects(t *testing.T) {
	t.Parallel()
	now := time.Unix(1_700_000_000, 0)
	body := []byte(`{"event":"x"}`)
	good := assignments.Sign("k", now.Unix(), body)
	cases := []struct {
		name, secret, sig, ts string
		body                  []byte
		ok                    bool
	}{
		{"good", "k", good, "1700000000", body, true},
		{"wrong secret", "other", good, "1700000000", body, false},
		{"tampered body", "k", good, "1700000000", []byte(`{"event":"y"}`), false},
		{"old timestamp", "k", assignments.Sign("k", now.Unix()-3600, body), "1699996400", body, false},
		{"bad timestamp", "k", good, "soon", body, false},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			err := assignments.Verify(tc.secret, tc.sig, tc.ts, tc.body, now, 5*time.Minute)
			if (err == nil) != tc.ok {
				t.Fatalf("verify: %v, want ok=%v", err, tc.ok)
			}
		})
	}
}

// castFiles serves asciicast text by path.
type castFiles map[string]string

func (c castFiles) Open(rel string) (io.ReadCloser, error) {
	s, ok := c[rel]
	if !ok {
		return nil, errors.New("no such recording")
	}
	return io.NopCloser(strings.NewReader(s)), nil
}

func TestReportTimelineHasTypedCommands(t *testing.T) {
	t.Parallel()
	e := newEnv(t, store.DialectSQLite, assignments.Config{})
	ctx := context.Background()
	a := e.assignment(t, time.Hour)
	link := e.invite(t, a, "typist@example.com")
	o, err := e.svc.Open(ctx, assignments.OpenRequest{Token: link.Token})
	if err != nil {
		t.Fatal(err)
	}
	ats, _ := e.st.AttemptsByInvite(ctx, o.InviteID)
	start := e.clk.Now().Add(time.Minute)
	if err := e.st.StartRecording(ctx, "rec1", ats[0].ID, "main", "a/rec1.cast.gz", start); err != nil {
		t.Fatal(err)
	}
	if err := e.st.StartRecording(ctx, "rec2", ats[0].ID, "second", "a/missing.cast.gz", start); err != nil {
		t.Fatal(err)
	}
	cast := `{"version":2,"width":80,"height":24,"timestamp":` + strconv.FormatInt(start.Unix(), 10) + "}\n" +
		`[0.5,"o","$ "]` + "\n" + `[1.0,"i","cat /workspace/app.conf\r"]` + "\n" + `[2.0,"i","vi app.conf\r"]` + "\n"
	svc := assignments.New(e.st, e.att, e.sb, fakeCatalog{e.att.ch}, castFiles{"a/rec1.cast.gz": cast}, e.cfg, slog.New(slog.DiscardHandler), e.clk.Now)
	rep, err := svc.Report(ctx, e.mgr, o.InviteID)
	if err != nil {
		t.Fatal(err)
	}
	var cmds []string
	for _, ev := range rep.Timeline {
		if ev.Kind == "command" {
			cmds = append(cmds, ev.Text+"@"+ev.Offset.String())
		}
	}
	if got := strings.Join(cmds, ","); got != "$ cat /workspace/app.conf@1m1s,$ vi app.conf@1m2s" {
		t.Fatalf("commands %q", got)
	}
	if len(rep.Challenges[0].Recordings) != 2 || !rep.Challenges[0].Commands {
		t.Fatalf("recordings %+v", rep.Challenges[0])
	}
	// Without a reader of recordings, the timeline simply has no commands.
	rep, err = e.svc.Report(ctx, e.mgr, o.InviteID)
	if err != nil || rep.Challenges[0].Commands {
		t.Fatalf("report without casts: %v %+v", err, rep.Challenges[0])
	}
}

// sessionOf is the access of a session of u opened by inviteID's link
// ("" for a password login); nil for no session.
func sessionOf(u *accounts.User, inviteID string) *assignments.Access {
	if u == nil {
		return nil
	}
	acc := assignments.SessionAccess(u, inviteID)
	return &acc
}

// TestInviteInputBounds: an invite email is at most 254 characters (RFC
// 5321) with at most 64 before the @, and a deadline at most a year ahead
// is accepted while later ones are refused with the field named.
func TestInviteInputBounds(t *testing.T) {
	t.Parallel()
	e := newEnv(t, store.DialectSQLite, assignments.Config{})
	ctx := context.Background()
	a := e.assignment(t, time.Hour)
	domain := func(n int) string { // n characters of labels of at most 63
		var b strings.Builder
		for b.Len() < n-4 {
			l := min(63, n-4-b.Len())
			if b.Len() > 0 {
				b.WriteByte('.')
				l = min(l, n-4-b.Len())
			}
			b.WriteString(strings.Repeat("d", max(l, 1)))
		}
		return b.String() + ".com"
	}
	longest := strings.Repeat("l", 64) + "@" + domain(254-65)
	if len(longest) != 254 {
		t.Fatalf("test address is %d characters", len(longest))
	}
	if _, err := e.svc.Invite(ctx, e.mgr, a.ID, assignments.NewInvite{Email: longest}); err != nil {
		t.Fatalf("a 254-character address: %v", err)
	}
	for _, tc := range []struct{ name, email, want string }{
		{"255 characters", strings.Repeat("l", 64) + "@" + domain(255-65), "at most 254"},
		{"10 000 characters", strings.Repeat("x", 10_000) + "@example.com", "at most 254"},
		{"65 before the @", strings.Repeat("l", 65) + "@example.com", "at most 64"},
		{"display name", "Ada <ada@example.com>", "is not an email address"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := e.svc.Invite(ctx, e.mgr, a.ID, assignments.NewInvite{Email: tc.email})
			var ve *assignments.ValidationError
			if !errors.As(err, &ve) || ve.Field != "email" || !strings.Contains(ve.Msg, tc.want) {
				t.Fatalf("error %v, want a validation error on email saying %q", err, tc.want)
			}
			if len(err.Error()) > 400 {
				t.Fatalf("message repeats the input: %d characters", len(err.Error()))
			}
		})
	}
	yearAhead := assignments.NewAssignment{Title: "x", ChallengeIDs: []string{"edit-config"}, TimeLimit: time.Hour, Deadline: e.clk.Now().AddDate(1, 0, 0).Add(-time.Minute)}
	if _, err := e.svc.CreateAssignment(ctx, e.mgr, yearAhead); err != nil {
		t.Fatalf("deadline just under a year ahead: %v", err)
	}
}

// TestInviteSessionsAreScoped: two managers invite one email; each link's
// session reaches its own take-home only, whatever the shared account.
func TestInviteSessionsAreScoped(t *testing.T) {
	t.Parallel()
	for _, dialect := range storetest.Dialects {
		t.Run(dialect, func(t *testing.T) {
			t.Parallel()
			e := newEnv(t, dialect, assignments.Config{})
			ctx := context.Background()
			linkA := e.invite(t, e.assignment(t, time.Hour), "cora@example.com")
			b, err := e.svc.CreateAssignment(ctx, e.other, assignments.NewAssignment{Title: "B", ChallengeIDs: []string{"edit-config"}, TimeLimit: time.Hour, Deadline: e.clk.Now().Add(24 * time.Hour)})
			if err != nil {
				t.Fatal(err)
			}
			linkB, err := e.svc.Invite(ctx, e.other, b.ID, assignments.NewInvite{Email: "cora@example.com"})
			if err != nil {
				t.Fatal(err)
			}
			oA, err := e.svc.Open(ctx, assignments.OpenRequest{Token: linkA.Token})
			if err != nil {
				t.Fatal(err)
			}
			oB, err := e.svc.Open(ctx, assignments.OpenRequest{Token: linkB.Token})
			if err != nil || oB.SessionToken == "" {
				t.Fatalf("open B: %+v %v", oB, err)
			}
			cora := mustUser(t, e, "cora@example.com")
			for tok, want := range map[string]string{oA.SessionToken: oA.InviteID, oB.SessionToken: oB.InviteID} {
				sess, err := e.st.SessionByID(ctx, accounts.HashToken(tok), e.clk.Now())
				if err != nil || sess.UserID != cora.ID || sess.InviteID == nil || *sess.InviteID != want {
					t.Fatalf("session %+v %v, want scoped to %s", sess, err, want)
				}
			}
			accB := assignments.SessionAccess(cora, oB.InviteID)
			if _, err := e.svc.Take(ctx, accB, oA.InviteID); !errors.Is(err, assignments.ErrNotFound) {
				t.Fatalf("B's session takes A: %v", err)
			}
			if err := e.svc.StartMissing(ctx, accB, oA.InviteID); !errors.Is(err, assignments.ErrNotFound) {
				t.Fatalf("B's session starts A: %v", err)
			}
			if err := e.svc.SubmitAs(ctx, accB, oA.InviteID); !errors.Is(err, assignments.ErrNotFound) {
				t.Fatalf("B's session submits A: %v", err)
			}
			if c, _ := e.st.ClaimByInvite(ctx, oA.InviteID); c.SubmitRequestedAt != nil {
				t.Fatal("A was submitted")
			}
			if cs, err := e.svc.TakesOf(ctx, accB); err != nil || len(cs) != 1 || cs[0].InviteID != oB.InviteID {
				t.Fatalf("B's session lists %+v %v", cs, err)
			}
			if _, err := e.svc.Take(ctx, accB, oB.InviteID); err != nil {
				t.Fatalf("B's own take-home: %v", err)
			}
			// Without an invite, a password-less account's session reaches nothing.
			none := assignments.SessionAccess(cora, "")
			if cs, err := e.svc.TakesOf(ctx, none); err != nil || len(cs) != 0 {
				t.Fatalf("unscoped password-less session lists %+v %v", cs, err)
			}
			if _, err := e.svc.Take(ctx, none, oA.InviteID); !errors.Is(err, assignments.ErrNotFound) {
				t.Fatalf("unscoped password-less session takes A: %v", err)
			}
			// A's link presented again from B's session: the landing page
			// (not a redirect), then a session scoped to A.
			if _, reopened, err := e.svc.Landing(ctx, linkA.Token, &accB); err != nil || reopened {
				t.Fatalf("landing of A from B's session: reopened %v, %v", reopened, err)
			}
			back, err := e.svc.Open(ctx, assignments.OpenRequest{Token: linkA.Token, Session: &accB})
			if err != nil || back.InviteID != oA.InviteID || back.SessionToken == "" {
				t.Fatalf("reopen A from B's session: %+v %v", back, err)
			}
			if sess, err := e.st.SessionByID(ctx, accounts.HashToken(back.SessionToken), e.clk.Now()); err != nil || *sess.InviteID != oA.InviteID {
				t.Fatalf("reopened session %+v %v", sess, err)
			}
		})
	}
}

// TestReportTimelineShowsPipelineRuns: a check that runs the candidate's
// workflow (type pipeline) puts each run on the timeline with its verdict
// and the grader's first line; other checks stay one "check" line.
func TestReportTimelineShowsPipelineRuns(t *testing.T) {
	t.Parallel()
	e := newEnv(t, store.DialectSQLite, assignments.Config{})
	ctx := context.Background()
	ch := *e.att.ch
	ch.Spec.Checks = append([]challenges.Check(nil), ch.Spec.Checks...)
	var port bool
	for i := range ch.Spec.Checks {
		if ch.Spec.Checks[i].ID == "port" {
			ch.Spec.Checks[i].Type, port = challenges.CheckPipeline, true
		}
	}
	if !port {
		t.Fatal("the test challenge has no check 'port'")
	}
	e.att.ch = &ch
	a := e.assignment(t, time.Hour)
	link := e.invite(t, a, "piper@example.com")
	o, err := e.svc.Open(ctx, assignments.OpenRequest{Token: link.Token})
	if err != nil {
		t.Fatal(err)
	}
	ats, _ := e.st.AttemptsByInvite(ctx, o.InviteID)
	j, err := e.st.EnqueueJob(ctx, ats[0].ID, attempts.ReasonCheck)
	if err != nil {
		t.Fatal(err)
	}
	if _, _, err := e.att.Wait(ctx, j.ID); err != nil {
		t.Fatal(err)
	}
	rep, err := e.svc.Report(ctx, e.mgr, o.InviteID)
	if err != nil {
		t.Fatal(err)
	}
	var lines []string
	for _, ev := range rep.Timeline {
		if ev.Kind == "pipeline" {
			lines = append(lines, ev.Text)
		}
	}
	if len(lines) != 1 || !strings.HasPrefix(lines[0], "pipeline run of port: failed, 0/50") {
		t.Fatalf("pipeline lines %q", lines)
	}
}
