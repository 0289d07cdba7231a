package server

import (
	"context"

	"github.com/gofiber/fiber/v2"

	"github.com/opsdojo/opsdojo/assignments"
	"github.com/opsdojo/opsdojo/attempts"
	"github.com/opsdojo/opsdojo/store"
)

// policySource says what an attempt's assignment allows.
type policySource interface {
	PolicyFor(ctx context.Context, a *store.Attempt) (assignments.Policy, error)
}

// policyAttempts enforces an assignment's rules on the attempt routes:
// no hints when the assignment turns them off, and in interview mode the
// candidate sees check titles and outcomes but no messages or output.
// Practice attempts pass through unchanged.
type policyAttempts struct {
	Attempts
	policy policySource
}

// Resume passes through to the wrapped service (the embedded interface
// does not carry it, and without it the server never restored a
// hibernated sandbox for the workspace or a terminal ticket).
func (p *policyAttempts) Resume(ctx context.Context, a *store.Attempt) error {
	if r, ok := p.Attempts.(resumer); ok {
		return r.Resume(ctx, a)
	}
	return nil
}

// Hints hides the hints of assignments that do not allow them.
func (p *policyAttempts) Hints(ctx context.Context, a *store.Attempt) ([]attempts.HintView, error) {
	pol, err := p.policy.PolicyFor(ctx, a)
	if err != nil {
		return nil, err
	}
	if !pol.HintsAllowed {
		return nil, nil
	}
	return p.Attempts.Hints(ctx, a)
}

// RevealHint refuses when the assignment does not allow hints.
func (p *policyAttempts) RevealHint(ctx context.Context, a *store.Attempt, i int) (attempts.HintView, error) {
	pol, err := p.policy.PolicyFor(ctx, a)
	if err != nil {
		return attempts.HintView{}, err
	}
	if !pol.HintsAllowed {
		return attempts.HintView{}, fiber.NewError(fiber.StatusForbidden, assignments.ErrHintsDisabled.Error())
	}
	return p.Attempts.RevealHint(ctx, a, i)
}

// Wait strips check details of interview-mode attempts.
func (p *policyAttempts) Wait(ctx context.Context, jobID string) (*store.GradingJob, *store.CheckRun, error) {
	j, run, err := p.Attempts.Wait(ctx, jobID)
	if err != nil || run == nil {
		return j, run, err
	}
	return j, p.strip(ctx, run), nil
}

func (p *policyAttempts) strip(ctx context.Context, run *store.CheckRun) *store.CheckRun {
	a, err := p.Attempts.Get(ctx, run.AttemptID, "")
	if err != nil {
		return run
	}
	pol, err := p.policy.PolicyFor(ctx, a)
	if err != nil || !pol.Interview {
		return run
	}
	out := *run
	out.Results = make([]store.CheckResult, len(run.Results))
	for i, r := range run.Results {
		r.Message, r.Output = "", ""
		out.Results[i] = r
	}
	return &out
}

// policyRuns strips check details of interview-mode attempts from stored
// results.
type policyRuns struct {
	Runs
	attempts Attempts
	policy   policySource
}

func (p *policyRuns) LatestCheckRun(ctx context.Context, attemptID string) (*store.CheckRun, error) {
	run, err := p.Runs.LatestCheckRun(ctx, attemptID)
	if err != nil {
		return nil, err
	}
	if pa, ok := p.attempts.(*policyAttempts); ok {
		return pa.strip(ctx, run), nil
	}
	return run, nil
}
