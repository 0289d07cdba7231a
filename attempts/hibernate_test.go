package attempts_test

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/opsdojo/opsdojo/accounts"
	"github.com/opsdojo/opsdojo/attempts"
	"github.com/opsdojo/opsdojo/challenges"
	"github.com/opsdojo/opsdojo/grader"
	"github.com/opsdojo/opsdojo/ids"
	"github.com/opsdojo/opsdojo/sandbox"
	"github.com/opsdojo/opsdojo/sandbox/sandboxtest"
	"github.com/opsdojo/opsdojo/store"
	"github.com/opsdojo/opsdojo/store/storetest"
)

// clock is a settable clock shared by the sandbox manager and the service.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *clock) Add(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}

// brokenProbe is the manager with a probe that cannot start, as when the
// daemon or the probe image is unavailable: an infrastructure error.
type brokenProbe struct{ m *sandbox.Manager }

func (b brokenProbe) Probe(context.Context, string, sandbox.ProbeSpec) (sandbox.ExecResult, error) {
	return sandbox.ExecResult{}, errors.New("sandbox: probe: create: Cannot connect to the Docker daemon")
}

func (b brokenProbe) CopyOut(ctx context.Context, id, path string, maxBytes int64) (io.ReadCloser, error) {
	return b.m.CopyOut(ctx, id, path, maxBytes)
}

// switchGrader grades with the real grader until broken is set.
type switchGrader struct {
	mu      sync.Mutex
	ok, bad attempts.Grader
	broken  atomic.Bool
}

func (g *switchGrader) Grade(ctx context.Context, ch *challenges.Challenge, t grader.Target) (grader.Result, error) {
	if g.broken.Load() {
		return g.bad.Grade(ctx, ch, t)
	}
	g.mu.Lock()
	ok := g.ok
	g.mu.Unlock()
	return ok.Grade(ctx, ch, t)
}

type hibFixture struct {
	st    *store.Store
	m     *sandbox.Manager
	svc   *attempts.Service
	cat   *challenges.Catalog
	g     *switchGrader
	clock *clock
}

// newHibFixture runs the service on a fake clock with a one-minute idle
// timeout, and its workers until the test ends.
func newHibFixture(t *testing.T, dialect string) *hibFixture {
	t.Helper()
	cli := sandboxtest.Client(t)
	sandboxtest.Image(t, cli)
	log := slog.New(slog.DiscardHandler)
	c := &clock{t: time.Now()}
	inst := sandboxtest.Instance(t, cli)
	m, err := sandbox.NewManager(cli, sandbox.Config{Instance: inst, MaxPerOwner: -1, ProbeImage: probeImage, DefaultIdle: time.Minute}, log, c.Now)
	if err != nil {
		t.Fatal(err)
	}
	cat := challenges.NewCatalog(challenges.CatalogOptions{Roots: []string{"../grader/testdata"}, Logger: log})
	if err := cat.Reload(context.Background()); err != nil {
		t.Fatal(err)
	}
	st := storetest.Open(t, dialect)
	g := &switchGrader{ok: grader.New(m, nil, log, time.Now), bad: grader.New(brokenProbe{m}, nil, log, time.Now)}
	f := &hibFixture{st: st, m: m, cat: cat, g: g, clock: c,
		svc: attempts.New(st, m, cat, g, attempts.Config{Workers: 1, PollInterval: 100 * time.Millisecond}, log, c.Now)}
	ctx, stop := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() {
		defer close(done)
		f.svc.RunWorkers(ctx)
	}()
	t.Cleanup(func() {
		stop()
		<-done
		cctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		_ = m.Close(cctx)
	})
	return f
}

func (f *hibFixture) user(t *testing.T) string {
	t.Helper()
	u := &accounts.User{Email: ids.New()[:8] + "@example.com", Role: accounts.RoleCandidate, CreatedAt: time.Now(), UpdatedAt: time.Now()}
	if err := f.st.CreateUser(context.Background(), u); err != nil {
		t.Fatal(err)
	}
	return u.ID
}

func (f *hibFixture) start(t *testing.T, ctx context.Context, o attempts.StartOptions) *attempts.Attempt {
	t.Helper()
	if o.UserID == "" {
		o.UserID = f.user(t)
	}
	a, err := f.svc.Start(ctx, "web-perms", o)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		cctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		cur, err := f.st.AttemptByID(cctx, a.ID)
		if err == nil {
			_ = f.svc.End(cctx, cur, attempts.StateAbandoned)
		}
		_ = f.m.Discard(cctx, a.ID)
	})
	return a
}

// check runs a Check and waits for it; run is nil when nothing was stored.
func (f *hibFixture) check(t *testing.T, ctx context.Context, a *attempts.Attempt) (*attempts.GradingJob, *attempts.CheckRun, error) {
	t.Helper()
	job, err := f.svc.Check(ctx, a)
	if err != nil {
		return nil, nil, err
	}
	j, run, err := f.svc.Wait(ctx, job.ID)
	if err != nil {
		t.Fatalf("wait for job: %v", err)
	}
	return j, run, nil
}

func (f *hibFixture) solve(t *testing.T, ctx context.Context, a *attempts.Attempt) {
	t.Helper()
	ch, _ := f.cat.Get("web-perms")
	res, err := f.m.Exec(ctx, a.SandboxID, []string{"bash", "-s"}, sandbox.ExecOptions{User: "root", Stdin: strings.NewReader(string(ch.SolutionScript())), Timeout: time.Minute})
	if err != nil || res.ExitCode != 0 {
		t.Fatalf("solution: %v %s", err, res.Stderr)
	}
	_, run, err := f.check(t, ctx, a)
	if err != nil || run == nil || run.Score != 100 {
		t.Fatalf("solved run: %v %+v", err, run)
	}
}

func (f *hibFixture) runs(t *testing.T, ctx context.Context, attemptID string) int {
	t.Helper()
	rs, err := f.st.CheckRunsByAttempt(ctx, attemptID)
	if err != nil {
		t.Fatal(err)
	}
	return len(rs)
}

// TestTakeHomeSandboxNotIdleReaped: a take-home sandbox outlives any idle
// time before its deadline (it used to be removed after the idle timeout,
// losing every change).
func TestTakeHomeSandboxNotIdleReaped(t *testing.T) {
	t.Parallel()
	f := newHibFixture(t, store.DialectSQLite)
	ctx := sandboxtest.Context(t, 3*time.Minute)
	deadline := f.clock.Now().Add(2 * time.Hour)
	a := f.start(t, ctx, attempts.StartOptions{Mode: attempts.ModeAssignment, Deadline: &deadline})
	if _, err := f.m.Exec(ctx, a.SandboxID, []string{"bash", "-c", "echo motd-fixed > /etc/motd"}, sandbox.ExecOptions{User: "root"}); err != nil {
		t.Fatal(err)
	}
	f.clock.Add(90 * time.Minute) // far past the one-minute idle timeout, before the deadline
	for _, r := range f.m.Reap(ctx) {
		if r.AttemptID == a.ID {
			t.Fatalf("take-home sandbox reaped before its deadline: %+v", r)
		}
	}
	res, err := f.m.Exec(ctx, a.SandboxID, []string{"cat", "/etc/motd"}, sandbox.ExecOptions{})
	if err != nil || string(res.Stdout) != "motd-fixed\n" {
		t.Fatalf("take-home sandbox after 90 idle minutes: %q %v", res.Stdout, err)
	}
	sb, err := f.m.Get(a.SandboxID)
	if err != nil || sb.Expires.Before(deadline.Add(attempts.SubmitGrace-time.Minute)) {
		t.Fatalf("take-home TTL %v, want the deadline %v plus the submit grace (%v)", sb.Expires, deadline, err)
	}
}

// TestPracticeSandboxHibernatedAndRestored: an idle practice sandbox is
// hibernated, and the next Check restores it with the candidate's file
// changes (it used to be removed and the Check stored a 0).
func TestPracticeSandboxHibernatedAndRestored(t *testing.T) {
	t.Parallel()
	f := newHibFixture(t, store.DialectSQLite)
	ctx := sandboxtest.Context(t, 3*time.Minute)
	a := f.start(t, ctx, attempts.StartOptions{})
	old := a.SandboxID
	if _, err := f.m.Exec(ctx, old, []string{"bash", "-c", "echo motd-fixed > /etc/motd; rm /srv/www/secret.txt"}, sandbox.ExecOptions{User: "root"}); err != nil {
		t.Fatal(err)
	}
	f.clock.Add(2 * time.Minute)
	var hibernated bool
	for _, r := range f.m.Reap(ctx) {
		if r.AttemptID == a.ID {
			hibernated = r.Reason == sandbox.ReasonHibernated
		}
	}
	if !hibernated {
		t.Fatalf("idle practice sandbox was not hibernated")
	}
	// The candidate comes back and presses Check.
	cur, err := f.svc.Get(ctx, a.ID, "")
	if err != nil {
		t.Fatal(err)
	}
	j, run, err := f.check(t, ctx, cur)
	if err != nil || run == nil {
		t.Fatalf("check after hibernation: %v job=%+v", err, j)
	}
	passed := map[string]bool{}
	for _, r := range run.Results {
		passed[r.CheckID] = r.Passed
	}
	if !passed["motd"] || !passed["no-secret"] {
		t.Fatalf("file changes lost by hibernation: %+v", run.Results)
	}
	// Processes do not survive: the web server the setup left is not
	// running (a restored sandbox is like a rebooted machine).
	if cur.SandboxID == old {
		t.Fatalf("sandbox id unchanged after restore")
	}
	stored, _ := f.st.AttemptByID(ctx, a.ID)
	if stored.SandboxID != cur.SandboxID {
		t.Fatalf("stored sandbox %s, restored %s", stored.SandboxID, cur.SandboxID)
	}
	res, err := f.m.Exec(ctx, cur.SandboxID, []string{"cat", "/etc/motd"}, sandbox.ExecOptions{})
	if err != nil || string(res.Stdout) != "motd-fixed\n" {
		t.Fatalf("restored file: %q %v", res.Stdout, err)
	}
}

// TestCheckOnGoneSandbox: a Check on an attempt whose sandbox is truly
// gone (not hibernated) is ErrSandboxGone (HTTP 410), queues nothing and
// stores nothing: the 100 stays.
func TestCheckOnGoneSandbox(t *testing.T) {
	t.Parallel()
	for _, dialect := range storetest.Dialects {
		t.Run(dialect, func(t *testing.T) {
			t.Parallel()
			f := newHibFixture(t, dialect)
			ctx := sandboxtest.Context(t, 3*time.Minute)
			a := f.start(t, ctx, attempts.StartOptions{})
			f.solve(t, ctx, a)
			n := f.runs(t, ctx, a.ID)
			if err := f.m.Remove(ctx, a.SandboxID); err != nil {
				t.Fatal(err)
			}
			cur, _ := f.svc.Get(ctx, a.ID, "")
			_, run, err := f.check(t, ctx, cur)
			if !errors.Is(err, attempts.ErrSandboxGone) || run != nil {
				t.Fatalf("check on a gone sandbox: err=%v run=%+v", err, run)
			}
			if got := f.runs(t, ctx, a.ID); got != n {
				t.Fatalf("%d check runs stored, want %d", got, n)
			}
			stored, _ := f.st.AttemptByID(ctx, a.ID)
			if stored.Score != 100 {
				t.Fatalf("score %d after a check on a gone sandbox, want 100", stored.Score)
			}
			latest, err := f.st.LatestCheckRun(ctx, a.ID)
			if err != nil || latest.Score != 100 {
				t.Fatalf("latest run: %+v %v", latest, err)
			}
		})
	}
}

// TestInfraErrorDoesNotReplaceScore: a grading whose checks could not run
// (the probe cannot start; the sandbox vanishes during grading) fails the
// job with ErrGradingFailed / ErrSandboxGone and the 100 stays.
func TestInfraErrorDoesNotReplaceScore(t *testing.T) {
	t.Parallel()
	for _, dialect := range storetest.Dialects {
		t.Run(dialect, func(t *testing.T) {
			t.Parallel()
			f := newHibFixture(t, dialect)
			ctx := sandboxtest.Context(t, 3*time.Minute)
			a := f.start(t, ctx, attempts.StartOptions{})
			f.solve(t, ctx, a)
			n := f.runs(t, ctx, a.ID)

			f.g.broken.Store(true)
			j, run, err := f.check(t, ctx, a)
			if err != nil || run != nil || j.State != attempts.JobFailed || !errors.Is(attempts.JobError(j), attempts.ErrGradingFailed) {
				t.Fatalf("grading with a broken probe: err=%v run=%+v job=%+v", err, run, j)
			}
			f.g.broken.Store(false)

			// The sandbox vanishes while it is graded.
			f.g.mu.Lock()
			f.g.ok = removeFirst{m: f.m, g: f.g.ok}
			f.g.mu.Unlock()
			j, run, err = f.check(t, ctx, a)
			if err != nil || run != nil || !errors.Is(attempts.JobError(j), attempts.ErrSandboxGone) {
				t.Fatalf("grading of a vanished sandbox: err=%v run=%+v job=%+v", err, run, j)
			}
			if got := f.runs(t, ctx, a.ID); got != n {
				t.Fatalf("%d check runs stored, want %d", got, n)
			}
			stored, _ := f.st.AttemptByID(ctx, a.ID)
			if stored.Score != 100 {
				t.Fatalf("score %d after failed gradings, want 100", stored.Score)
			}
		})
	}
}

// removeFirst removes the sandbox, then grades (a reaper or an operator
// took it mid-grading).
type removeFirst struct {
	m *sandbox.Manager
	g attempts.Grader
}

func (r removeFirst) Grade(ctx context.Context, ch *challenges.Challenge, t grader.Target) (grader.Result, error) {
	_ = r.m.Remove(ctx, t.SandboxID)
	return r.g.Grade(ctx, ch, t)
}

// TestHibernationImageRemovedWhenAttemptEnds: End and Reset discard the
// hibernation image; a reset attempt starts fresh.
func TestHibernationImageRemovedWhenAttemptEnds(t *testing.T) {
	t.Parallel()
	f := newHibFixture(t, store.DialectSQLite)
	ctx := sandboxtest.Context(t, 3*time.Minute)
	ended := f.start(t, ctx, attempts.StartOptions{})
	reset := f.start(t, ctx, attempts.StartOptions{})
	for _, a := range []*attempts.Attempt{ended, reset} {
		if _, err := f.m.Exec(ctx, a.SandboxID, []string{"bash", "-c", "echo motd-fixed > /etc/motd"}, sandbox.ExecOptions{User: "root"}); err != nil {
			t.Fatal(err)
		}
		if err := f.m.Hibernate(ctx, a.SandboxID); err != nil {
			t.Fatal(err)
		}
		if ok, err := f.m.Hibernated(ctx, a.ID); err != nil || !ok {
			t.Fatalf("no hibernation image for %s: %v", a.ID, err)
		}
	}
	if err := f.svc.End(ctx, ended, attempts.StateAbandoned); err != nil {
		t.Fatal(err)
	}
	if ok, err := f.m.Hibernated(ctx, ended.ID); err != nil || ok {
		t.Fatalf("hibernation image kept after the attempt ended: %v %v", ok, err)
	}
	if err := f.svc.Reset(ctx, reset); err != nil {
		t.Fatal(err)
	}
	if ok, err := f.m.Hibernated(ctx, reset.ID); err != nil || ok {
		t.Fatalf("hibernation image kept after reset: %v %v", ok, err)
	}
	res, err := f.m.Exec(ctx, reset.SandboxID, []string{"cat", "/etc/motd"}, sandbox.ExecOptions{})
	if err != nil || strings.Contains(string(res.Stdout), "motd-fixed") {
		t.Fatalf("reset sandbox kept the old work: %q %v", res.Stdout, err)
	}
}
