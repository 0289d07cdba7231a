package attempts_test

import (
	"context"
	"errors"
	"log/slog"
	"testing"
	"time"

	"github.com/opsdojo/opsdojo/accounts"
	"github.com/opsdojo/opsdojo/apperr"
	"github.com/opsdojo/opsdojo/assignments"
	"github.com/opsdojo/opsdojo/attempts"
	"github.com/opsdojo/opsdojo/challenges"
	"github.com/opsdojo/opsdojo/ids"
	"github.com/opsdojo/opsdojo/store"
	"github.com/opsdojo/opsdojo/store/storetest"
)

// oneChallenge serves one challenge.
type oneChallenge struct{ ch *challenges.Challenge }

func (c oneChallenge) Get(id string) (*challenges.Challenge, bool) {
	return c.ch, id == c.ch.ID
}

// policyWorld is an attempts service whose take-home policies come from
// the real assignments service over a real database; no Docker: the
// policy calls never reach a sandbox.
type policyWorld struct {
	st   *store.Store
	svc  *attempts.Service
	ch   *challenges.Challenge
	user string
	now  time.Time
}

func newPolicyWorld(t *testing.T) *policyWorld {
	t.Helper()
	ch, err := challenges.Load("../cmd/opsdojo/testdata/challenges/edit-config")
	if err != nil {
		t.Fatal(err)
	}
	ch.Checks[1].Hidden = true // "debug": the author hides its details in take-homes
	log := slog.New(slog.DiscardHandler)
	st := storetest.Open(t, "sqlite")
	now := time.Now().UTC().Truncate(time.Second)
	svc := attempts.New(st, nil, oneChallenge{ch}, nil, attempts.Config{}, log, func() time.Time { return now })
	svc.UsePolicies(assignments.New(st, svc, nil, oneChallenge{ch}, nil, assignments.Config{}, log, func() time.Time { return now }))
	u := &accounts.User{Email: ids.New()[:8] + "@example.com", Role: accounts.RoleCandidate, CreatedAt: now, UpdatedAt: now}
	if err := st.CreateUser(context.Background(), u); err != nil {
		t.Fatal(err)
	}
	return &policyWorld{st: st, svc: svc, ch: ch, user: u.ID, now: now}
}

// attempt stores an active attempt: practice when as is nil, else one
// challenge of a take-home of an assignment with as's rules.
func (w *policyWorld) attempt(t *testing.T, as *assignments.Assignment, deadline time.Time) *attempts.Attempt {
	t.Helper()
	ctx := context.Background()
	a := &attempts.Attempt{ID: ids.New(), UserID: &w.user, ChallengeID: w.ch.ID, ChallengeVersion: w.ch.Version, Mode: attempts.ModePractice,
		State: attempts.StateActive, MaxScore: w.ch.TotalPoints(), StartedAt: w.now, SandboxID: "sandbox-" + ids.New()[:6]}
	if !deadline.IsZero() {
		a.DeadlineAt = &deadline
	}
	if as != nil {
		as.OwnerID, as.Title, as.ChallengeIDs, as.TimeLimitS = w.user, "take-home", []string{"edit-config"}, 3600
		as.DeadlineAt, as.CreatedAt, as.UpdatedAt = w.now.Add(48*time.Hour), w.now, w.now
		if err := w.st.CreateAssignment(ctx, as); err != nil {
			t.Fatal(err)
		}
		inv := &assignments.Invite{AssignmentID: as.ID, Email: ids.New()[:8] + "@example.com", TokenHash: ids.New(), State: assignments.InviteOpened,
			ExpiresAt: w.now.Add(time.Hour), CreatedAt: w.now}
		if err := w.st.CreateInvite(ctx, inv); err != nil {
			t.Fatal(err)
		}
		a.InviteID, a.Mode = &inv.ID, attempts.ModeAssignment
	}
	if err := w.st.CreateAttempt(ctx, a); err != nil {
		t.Fatal(err)
	}
	return a
}

// graded stores a finished grading of a with a message and output on
// every check, and returns its job.
func (w *policyWorld) graded(t *testing.T, a *attempts.Attempt) string {
	t.Helper()
	ctx := context.Background()
	if _, err := w.st.EnqueueJob(ctx, a.ID, attempts.ReasonCheck); err != nil {
		t.Fatal(err)
	}
	j, err := w.st.LeaseJob(ctx, "test", w.now, time.Minute)
	if err != nil {
		t.Fatal(err)
	}
	run := &attempts.CheckRun{AttemptID: a.ID, Score: 50, MaxScore: 100, StartedAt: w.now, FinishedAt: w.now, Results: []attempts.CheckResult{
		{CheckID: "port", Title: "port", Passed: true, Points: 50, MaxPoints: 50, Message: "port is 8080", Output: "port = 8080"},
		{CheckID: "debug", Title: "debug", MaxPoints: 50, Message: "line 2 does not match", Output: "debug = true"},
	}}
	if err := w.st.FinishJob(ctx, j.ID, "test", run); err != nil {
		t.Fatal(err)
	}
	return j.ID
}

// TestAssignmentPolicyInTheDomain: the attempts service enforces the
// assignment's rules itself (they were a wrapper in the HTTP layer): no
// hints when the assignment turns them off, check messages and output
// hidden in interview mode (every check) and in take-homes (checks the
// author marked hidden), and no Check, hint or edit after the deadline.
func TestAssignmentPolicyInTheDomain(t *testing.T) {
	t.Parallel()
	w := newPolicyWorld(t)
	ctx := context.Background()
	future := w.now.Add(time.Hour)
	cases := []struct {
		name     string
		as       *assignments.Assignment
		hints    bool
		messages [2]bool // port (visible check), debug (hidden check)
	}{
		{"practice", nil, true, [2]bool{true, true}},
		{"take-home in interview mode without hints", &assignments.Assignment{InterviewMode: true}, false, [2]bool{false, false}},
		{"take-home with hints", &assignments.Assignment{HintsAllowed: true}, true, [2]bool{true, false}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			var deadline time.Time
			if tc.as != nil {
				deadline = future
			}
			a := w.attempt(t, tc.as, deadline)
			hs, err := w.svc.Hints(ctx, a)
			if err != nil || (len(hs) > 0) != tc.hints {
				t.Fatalf("Hints = %v, %v; want hints %v", hs, err, tc.hints)
			}
			h, err := w.svc.RevealHint(ctx, a, 0)
			switch {
			case tc.hints && (err != nil || h.Text == ""):
				t.Fatalf("RevealHint = %+v, %v", h, err)
			case !tc.hints && (!errors.Is(err, attempts.ErrHintsDisabled) || apperr.ErrorCode(err) != apperr.Forbidden):
				t.Fatalf("RevealHint with hints off = %v, want ErrHintsDisabled (forbidden)", err)
			}
			if cost, _ := w.svc.HintCost(ctx, a); (cost > 0) != tc.hints {
				t.Fatalf("hint cost %d recorded with hints allowed %v", cost, tc.hints)
			}
			job := w.graded(t, a)
			_, waited, err := w.svc.Wait(ctx, job)
			if err != nil {
				t.Fatal(err)
			}
			latest, err := w.svc.Results(ctx, a)
			if err != nil {
				t.Fatal(err)
			}
			for _, run := range []*attempts.CheckRun{waited, latest} {
				for i, r := range run.Results {
					if shown := r.Message != "" || r.Output != ""; shown != tc.messages[i] {
						t.Fatalf("check %s: details shown %v, want %v (%+v)", r.CheckID, shown, tc.messages[i], r)
					}
					if r.Title == "" || r.MaxPoints == 0 {
						t.Fatalf("check %s lost its title or points: %+v", r.CheckID, r)
					}
				}
			}
		})
	}
	t.Run("after the deadline", func(t *testing.T) {
		a := w.attempt(t, &assignments.Assignment{HintsAllowed: true}, w.now.Add(-time.Second))
		if _, err := w.svc.Check(ctx, a); !errors.Is(err, attempts.ErrNotActive) || apperr.ErrorCode(err) != apperr.Conflict {
			t.Fatalf("Check after the deadline = %v, want ErrNotActive (conflict)", err)
		}
		if _, err := w.svc.RevealHint(ctx, a, 0); !errors.Is(err, attempts.ErrNotActive) {
			t.Fatalf("RevealHint after the deadline = %v, want ErrNotActive", err)
		}
		if err := w.svc.WriteFile(ctx, a, "/workspace/app.conf", []byte("port = 8080\n")); !errors.Is(err, attempts.ErrNotActive) {
			t.Fatalf("WriteFile after the deadline = %v, want ErrNotActive", err)
		}
	})
}
