package attempts_test

import (
	"context"
	"errors"
	"log/slog"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/opsdojo/opsdojo/attempts"
	"github.com/opsdojo/opsdojo/challenges"
	"github.com/opsdojo/opsdojo/grader"
	"github.com/opsdojo/opsdojo/sandbox"
)

// stepLog records what happened, in order.
type stepLog struct {
	mu    sync.Mutex
	steps []string
}

func (l *stepLog) add(s string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.steps = append(l.steps, s)
}

func (l *stepLog) list() []string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return slices.Clone(l.steps)
}

// fakeBoxes is a sandbox manager with the calls a submission makes: it
// freezes, keeps sandboxes running, and removes them.
type fakeBoxes struct {
	attempts.Sandboxes // anything else is not called
	log                *stepLog
	mu                 sync.Mutex
	removed            map[string]bool
}

func (b *fakeBoxes) Pause(context.Context, string) error { b.log.add("pause"); return nil }
func (b *fakeBoxes) Unpause(context.Context, string) error {
	b.log.add("unpause")
	return nil
}
func (b *fakeBoxes) StopTerminalWork(context.Context, string) ([]string, error) {
	b.log.add("stop")
	return []string{"42 uid=1000 sleep"}, nil
}
func (b *fakeBoxes) Restore(_ context.Context, id string, _ sandbox.Spec) (*sandbox.Sandbox, error) {
	return &sandbox.Sandbox{ID: id}, nil
}
func (b *fakeBoxes) Hold(string) func() { return func() {} }
func (b *fakeBoxes) Touch(string)       {}
func (b *fakeBoxes) Get(id string) (sandbox.Sandbox, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.removed[id] {
		return sandbox.Sandbox{}, sandbox.ErrNotFound
	}
	return sandbox.Sandbox{ID: id}, nil
}
func (b *fakeBoxes) Remove(_ context.Context, id string) error {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.removed[id] = true
	b.log.add("remove")
	return nil
}
func (b *fakeBoxes) Discard(context.Context, string) error { return nil }

// halfGrader passes the first check only.
type halfGrader struct{ log *stepLog }

func (g halfGrader) Grade(_ context.Context, ch *challenges.Challenge, _ grader.Target) (grader.Result, error) {
	g.log.add("grade")
	res := grader.Result{MaxScore: ch.TotalPoints(), FinishedAt: time.Now()}
	for i, c := range ch.Checks {
		r := grader.CheckResult{ID: c.ID, Title: c.Title, MaxPoints: c.Points, Passed: i == 0}
		if r.Passed {
			r.Points = c.Points
			res.Score += c.Points
		}
		res.Checks = append(res.Checks, r)
	}
	return res, nil
}

// TestSubmissionSteps: a take-home attempt is closed at the submit instant
// (Close), frozen in order — pause, the caller's terminals, the
// candidate's processes stopped, the caller keeps the files while paused,
// thaw — (Freeze), then graded once more through a grading job and ended
// with its sandbox removed, the caller's keep coming before the end
// (Finish). After Close, Check refuses.
func TestSubmissionSteps(t *testing.T) {
	t.Parallel()
	w := newPolicyWorld(t)
	log := &stepLog{}
	boxes := &fakeBoxes{log: log, removed: map[string]bool{}}
	svc := attempts.New(w.st, boxes, oneChallenge{w.ch}, halfGrader{log}, attempts.Config{Workers: 1, PollInterval: 50 * time.Millisecond}, slog.New(slog.DiscardHandler), time.Now)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	go svc.RunWorkers(ctx)

	a := w.attempt(t, nil, time.Now().Add(time.Hour))
	at := time.Now().UTC()
	if err := svc.Close(ctx, a, at); err != nil || a.DeadlineAt == nil || !a.DeadlineAt.Equal(at) {
		t.Fatalf("Close: %v, deadline %v", err, a.DeadlineAt)
	}
	if _, err := svc.Check(ctx, a); !errors.Is(err, attempts.ErrNotActive) {
		t.Fatalf("Check after Close = %v, want ErrNotActive", err)
	}
	problems := svc.Freeze(ctx, a, func(context.Context) { log.add("terminals closed") }, func(context.Context) []string {
		log.add("keep files")
		return []string{"a file was too large"}
	})
	want := []string{"pause", "terminals closed", "stop", "keep files", "unpause"}
	if got := log.list(); !slices.Equal(got, want) || !slices.Equal(problems, []string{"a file was too large"}) {
		t.Fatalf("Freeze steps %v problems %v, want %v", got, problems, want)
	}

	problems, err := svc.Finish(ctx, a, 30*time.Second, func(context.Context) error { log.add("keep submission"); return nil })
	if err != nil || len(problems) > 0 {
		t.Fatalf("Finish: %v %v", problems, err)
	}
	want = append(want, "grade", "keep submission", "remove")
	if got := log.list(); !slices.Equal(got, want) {
		t.Fatalf("steps %v, want %v", got, want)
	}
	stored, err := w.st.AttemptByID(ctx, a.ID)
	if err != nil || stored.State != attempts.StateSubmitted || stored.EndedAt == nil {
		t.Fatalf("attempt after Finish: %+v %v", stored, err)
	}
	run, err := w.st.LatestCheckRun(ctx, a.ID)
	if err != nil || run.Score != w.ch.Checks[0].Points {
		t.Fatalf("final grading %+v %v", run, err)
	}
	if _, err := svc.Finish(ctx, stored, time.Second, nil); err != nil {
		t.Fatalf("Finish of an ended attempt: %v (want nothing done)", err)
	}
}
