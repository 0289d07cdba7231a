package assignments_test

import (
	"archive/tar"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"regexp"
	"sync"
	"testing"
	"time"

	"github.com/opsdojo/opsdojo/attempts"
	"github.com/opsdojo/opsdojo/challenges"
	"github.com/opsdojo/opsdojo/ids"
	"github.com/opsdojo/opsdojo/sandbox"
	"github.com/opsdojo/opsdojo/store"
)

// clock is a settable test clock.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func newClock() *clock { return &clock{t: time.Now().UTC().Truncate(time.Second)} }

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

// fakeSandboxes keeps each sandbox's files in memory.
type fakeSandboxes struct {
	mu    sync.Mutex
	files map[string]map[string]string // sandbox -> path -> content
	added map[string]map[string]string // paths added after start (reported by Changes as A)
}

func newFakeSandboxes() *fakeSandboxes {
	return &fakeSandboxes{files: map[string]map[string]string{}, added: map[string]map[string]string{}}
}

func (f *fakeSandboxes) write(id, path, content string, added bool) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.files[id][path] = content
	if added {
		f.added[id][path] = content
	}
}

func (f *fakeSandboxes) Changes(_ context.Context, id string) ([]sandbox.Change, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if _, ok := f.files[id]; !ok {
		return nil, sandbox.ErrNotFound
	}
	out := []sandbox.Change{{Path: "/workspace", Kind: "C"}, {Path: "/workspace/app.conf", Kind: "C"}, {Path: "/proc/1", Kind: "C"}}
	for p := range f.added[id] {
		out = append(out, sandbox.Change{Path: p, Kind: "A"})
	}
	return out, nil
}

func (f *fakeSandboxes) CopyOut(_ context.Context, id, path string, _ int64) (io.ReadCloser, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	files, ok := f.files[id]
	if !ok {
		return nil, sandbox.ErrNotFound
	}
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	if path == "/workspace" {
		_ = tw.WriteHeader(&tar.Header{Name: "workspace", Typeflag: tar.TypeDir, Mode: 0o755})
	} else {
		c, ok := files[path]
		if !ok {
			return nil, fmt.Errorf("copy out %s: %w", path, sandbox.ErrNoSuchPath)
		}
		_ = tw.WriteHeader(&tar.Header{Name: "f", Typeflag: tar.TypeReg, Mode: 0o644, Size: int64(len(c))})
		_, _ = tw.Write([]byte(c))
	}
	_ = tw.Close()
	return io.NopCloser(&buf), nil
}

// fakeAttempts starts attempts in the store with fake sandboxes and
// grades edit-config's two file checks itself.
type fakeAttempts struct {
	st    *store.Store
	ch    *challenges.Challenge
	sb    *fakeSandboxes
	now   func() time.Time
	fail  error // Start fails with it when set
	mu    sync.Mutex
	ended map[string]attempts.State
	// freezer is the sandboxes' freezer (freeze_test); nil: none.
	freezer attempts.Freezer
}

// freezerOnly is a sandbox manager that can only freeze: what the real
// attempts service's Close and Freeze use.
type freezerOnly struct {
	attempts.Sandboxes
	attempts.Freezer
}

// service is the real attempts service for the submission steps that do
// not grade: Close (the deadline becomes the submit instant) and Freeze
// (pause, terminals, stop, keep, thaw).
func (f *fakeAttempts) service() *attempts.Service {
	var sb attempts.Sandboxes = struct{ attempts.Sandboxes }{}
	if f.freezer != nil {
		sb = freezerOnly{Freezer: f.freezer}
	}
	return attempts.New(f.st, sb, fakeCatalog{f.ch}, nil, attempts.Config{}, slog.New(slog.DiscardHandler), f.now)
}

func (f *fakeAttempts) Close(ctx context.Context, a *attempts.Attempt, at time.Time) error {
	return f.service().Close(ctx, a, at)
}

func (f *fakeAttempts) Freeze(ctx context.Context, a *attempts.Attempt, paused func(context.Context), keep func(context.Context) []string) []string {
	return f.service().Freeze(ctx, a, paused, keep)
}

// Finish is attempts.Service.Finish with the fake grading (Wait).
func (f *fakeAttempts) Finish(ctx context.Context, a *attempts.Attempt, _ time.Duration, keep func(context.Context) error) ([]string, error) {
	var problems []string
	if a.SandboxID != "" {
		j, err := f.st.EnqueueJob(ctx, a.ID, attempts.ReasonSubmit)
		if err == nil {
			j, _, err = f.Wait(ctx, j.ID)
		}
		switch {
		case ctx.Err() != nil:
			return problems, ctx.Err()
		case err != nil:
			problems = append(problems, fmt.Sprintf("%s: final grading: %v", a.ChallengeID, err))
		case j.State == attempts.JobFailed:
			problems = append(problems, fmt.Sprintf("%s: final grading failed: %s", a.ChallengeID, j.Error))
		}
	}
	if err := keep(ctx); err != nil {
		return problems, err
	}
	return problems, f.End(ctx, a, attempts.StateSubmitted)
}

func (f *fakeAttempts) Start(ctx context.Context, challengeID string, o attempts.StartOptions) (*attempts.Attempt, error) {
	if f.fail != nil {
		return nil, f.fail
	}
	if challengeID != f.ch.ID {
		return nil, attempts.ErrNotFound
	}
	a := &attempts.Attempt{ID: ids.New(), ChallengeID: challengeID, ChallengeVersion: f.ch.Version, Mode: o.Mode, State: attempts.StateActive,
		MaxScore: f.ch.TotalPoints(), StartedAt: f.now().UTC(), DeadlineAt: o.Deadline}
	a.UserID, a.InviteID = &o.UserID, &o.InviteID
	a.SandboxID = "sb-" + a.ID
	if err := f.st.CreateAttempt(ctx, a); err != nil {
		return nil, err
	}
	f.sb.mu.Lock()
	f.sb.files[a.SandboxID] = map[string]string{}
	f.sb.added[a.SandboxID] = map[string]string{}
	for _, sf := range f.ch.StarterFiles() {
		f.sb.files[a.SandboxID][sf.Path] = string(sf.Content)
	}
	f.sb.mu.Unlock()
	return a, nil
}

func (f *fakeAttempts) Challenge(*attempts.Attempt) (*challenges.Challenge, error) { return f.ch, nil }

var (
	portRe  = regexp.MustCompile(`(?m)^port\s*=\s*8080$`)
	debugRe = regexp.MustCompile(`(?m)^debug\s*=\s*false$`)
)

func (f *fakeAttempts) Wait(ctx context.Context, jobID string) (*attempts.GradingJob, *attempts.CheckRun, error) {
	j, err := f.st.LeaseJob(ctx, "fake", f.now().UTC(), time.Minute)
	if err != nil {
		return nil, nil, err
	}
	if j.ID != jobID {
		return nil, nil, errors.New("unexpected job")
	}
	a, err := f.st.AttemptByID(ctx, j.AttemptID)
	if err != nil {
		return nil, nil, err
	}
	f.sb.mu.Lock()
	conf := f.sb.files[a.SandboxID]["/workspace/app.conf"]
	f.sb.mu.Unlock()
	run := &attempts.CheckRun{AttemptID: a.ID, MaxScore: 100, StartedAt: f.now().UTC(), FinishedAt: f.now().UTC()}
	for _, c := range []struct {
		id string
		ok bool
	}{{"port", portRe.MatchString(conf)}, {"debug", debugRe.MatchString(conf)}} {
		r := attempts.CheckResult{CheckID: c.id, Title: c.id, Passed: c.ok, MaxPoints: 50}
		if c.ok {
			r.Points = 50
			run.Score += 50
		}
		run.Results = append(run.Results, r)
	}
	if err := f.st.FinishJob(ctx, j.ID, "fake", run); err != nil {
		return nil, nil, err
	}
	j, err = f.st.JobByID(ctx, jobID)
	return j, run, err
}

func (f *fakeAttempts) End(ctx context.Context, a *attempts.Attempt, state attempts.State) error {
	f.mu.Lock()
	if f.ended == nil {
		f.ended = map[string]attempts.State{}
	}
	f.ended[a.ID] = state
	f.mu.Unlock()
	f.sb.mu.Lock()
	delete(f.sb.files, a.SandboxID)
	f.sb.mu.Unlock()
	return f.st.UpdateAttempt(ctx, a.ID, attempts.Update{State: new(state), EndedAt: new(f.now().UTC())})
}

// fakeCatalog serves one challenge.
type fakeCatalog struct{ ch *challenges.Challenge }

func (c fakeCatalog) Get(id string) (*challenges.Challenge, bool) {
	if id == c.ch.ID {
		return c.ch, true
	}
	return nil, false
}

func loadEditConfig(t *testing.T) *challenges.Challenge {
	t.Helper()
	ch, err := challenges.Load("../cmd/opsdojo/testdata/challenges/edit-config")
	if err != nil {
		t.Fatal(err)
	}
	return ch
}
