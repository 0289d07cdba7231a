package server

import (
	"context"
	"errors"
	"testing"

	"github.com/gofiber/fiber/v2"

	"github.com/opsdojo/opsdojo/assignments"
	"github.com/opsdojo/opsdojo/attempts"
	"github.com/opsdojo/opsdojo/store"
)

// hintsAttempts implements the calls the policy wraps; the rest of
// Attempts is left nil (not called).
type hintsAttempts struct {
	Attempts
	byID map[string]*store.Attempt
}

func (h hintsAttempts) Get(_ context.Context, id, _ string) (*store.Attempt, error) {
	if a, ok := h.byID[id]; ok {
		return a, nil
	}
	return nil, attempts.ErrNotFound
}

func (hintsAttempts) Hints(context.Context, *store.Attempt) ([]attempts.HintView, error) {
	return []attempts.HintView{{Index: 0, Cost: 10}}, nil
}

func (hintsAttempts) RevealHint(_ context.Context, _ *store.Attempt, i int) (attempts.HintView, error) {
	return attempts.HintView{Index: i, Text: "look closer", Revealed: true}, nil
}

func (hintsAttempts) Wait(_ context.Context, jobID string) (*store.GradingJob, *store.CheckRun, error) {
	return &store.GradingJob{ID: jobID}, &store.CheckRun{AttemptID: jobID, Results: []store.CheckResult{{CheckID: "port", Message: "line 1 does not match", Output: "port = 80"}}}, nil
}

type policyByAttempt map[string]assignments.Policy

func (p policyByAttempt) PolicyFor(_ context.Context, a *store.Attempt) (assignments.Policy, error) {
	return p[a.ID], nil
}

func TestAssignmentPolicyOnAttemptRoutes(t *testing.T) {
	t.Parallel()
	att := map[string]*store.Attempt{"practice": {ID: "practice"}, "strict": {ID: "strict"}, "open": {ID: "open"}}
	pol := policyByAttempt{
		"practice": {HintsAllowed: true},
		"strict":   {Assignment: true, Interview: true},
		"open":     {Assignment: true, HintsAllowed: true},
	}
	p := &policyAttempts{Attempts: hintsAttempts{byID: att}, policy: pol}
	ctx := context.Background()
	cases := []struct {
		id              string
		hints, messages bool
	}{
		{"practice", true, true},
		{"strict", false, false},
		{"open", true, true},
	}
	for _, tc := range cases {
		t.Run(tc.id, func(t *testing.T) {
			t.Parallel()
			hs, err := p.Hints(ctx, att[tc.id])
			if err != nil || (len(hs) > 0) != tc.hints {
				t.Fatalf("hints %v %v", hs, err)
			}
			_, err = p.RevealHint(ctx, att[tc.id], 0)
			var fe *fiber.Error
			if tc.hints != (err == nil) || (!tc.hints && (!errors.As(err, &fe) || fe.Code != fiber.StatusForbidden)) {
				t.Fatalf("reveal: %v", err)
			}
			_, run, err := p.Wait(ctx, tc.id)
			if err != nil {
				t.Fatal(err)
			}
			if got := run.Results[0].Message != "" && run.Results[0].Output != ""; got != tc.messages {
				t.Fatalf("messages shown %v, want %v", got, tc.messages)
			}
		})
	}
}
