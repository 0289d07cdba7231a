package attempts

import (
	"context"
	"fmt"

	"github.com/opsdojo/opsdojo/apperr"
)

// ErrHintsDisabled: the attempt's assignment does not allow hints.
var ErrHintsDisabled = apperr.New(apperr.Forbidden, "hints are turned off for this assignment")

// Policy is what an attempt allows its candidate. It is the one place for
// the take-home rules inside an attempt: the service enforces it in
// Hints, RevealHint, Wait and Results (what the candidate sees of check
// results); deadlines are enforced by every call that changes the
// attempt (an attempt past its deadline is not active).
type Policy struct {
	// Assignment is true for the attempts of a take-home.
	Assignment bool
	// HintsAllowed: the candidate may list and reveal hints.
	HintsAllowed bool
	// Interview hides every check's message and output from the
	// candidate: titles and outcomes only.
	Interview bool
}

// PracticePolicy is the policy of an attempt outside take-homes.
var PracticePolicy = Policy{HintsAllowed: true}

// ShowsDetails says whether the candidate reads a check's message and
// output: never in interview mode, and not for a check the author marked
// hidden in a take-home.
func (p Policy) ShowsDetails(hidden bool) bool {
	return !p.Interview && !(hidden && p.Assignment)
}

// PolicySource returns the policy of a take-home's attempt (implemented by
// *assignments.Service, which reads it from the attempt's assignment).
type PolicySource interface {
	PolicyFor(ctx context.Context, a *Attempt) (Policy, error)
}

// UsePolicies makes the service read take-home attempts' policies from
// src. Without one, a take-home attempt allows hints and shows check
// details except those of hidden checks. Call it before serving.
func (s *Service) UsePolicies(src PolicySource) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.policies = src
}

// Policy returns what attempt a allows its candidate.
func (s *Service) Policy(ctx context.Context, a *Attempt) (Policy, error) {
	invite := a.InviteID != nil && *a.InviteID != ""
	if !invite && a.Mode != ModeAssignment {
		return PracticePolicy, nil
	}
	s.mu.Lock()
	src := s.policies
	s.mu.Unlock()
	if src == nil || !invite {
		return Policy{Assignment: true, HintsAllowed: true}, nil
	}
	p, err := src.PolicyFor(ctx, a)
	if err != nil {
		return Policy{}, fmt.Errorf("policy of attempt %s: %w", a.ID, err)
	}
	p.Assignment = true
	return p, nil
}

// hintsAllowed refuses hints the attempt's policy does not allow.
func (s *Service) hintsAllowed(ctx context.Context, a *Attempt) (bool, error) {
	p, err := s.Policy(ctx, a)
	if err != nil {
		return false, err
	}
	return p.HintsAllowed, nil
}

// Visible returns run as attempt a's candidate may see it: the one rule
// for check feedback (Policy.ShowsDetails). A take-home whose challenge
// version is not loaded any more counts its checks as hidden.
func (s *Service) Visible(ctx context.Context, a *Attempt, run *CheckRun) (*CheckRun, error) {
	if run == nil {
		return nil, nil
	}
	p, err := s.Policy(ctx, a)
	if err != nil {
		return nil, err
	}
	ch, cerr := s.challengeFor(a)
	hidden := func(id string) bool {
		if cerr != nil {
			return true
		}
		c, ok := ch.CheckByID(id)
		return ok && c.Hidden
	}
	out := *run
	out.Results = make([]CheckResult, len(run.Results))
	for i, r := range run.Results {
		if !p.ShowsDetails(hidden(r.CheckID)) {
			r.Message, r.Output = "", ""
		}
		out.Results[i] = r
	}
	return &out, nil
}

// Results returns the attempt's latest check run as its candidate may see
// it (Visible); apperr.NotFound when it has none.
func (s *Service) Results(ctx context.Context, a *Attempt) (*CheckRun, error) {
	run, err := s.st.LatestCheckRun(ctx, a.ID)
	if err != nil {
		return nil, err
	}
	return s.Visible(ctx, a, run)
}

// Wait blocks until job is done or failed, or ctx ends, and returns it
// with its check run (nil unless done) as the attempt's candidate may see
// it (Visible).
func (s *Service) Wait(ctx context.Context, jobID string) (*GradingJob, *CheckRun, error) {
	j, run, err := s.wait(ctx, jobID)
	if err != nil || run == nil {
		return j, run, err
	}
	a, err := s.st.AttemptByID(ctx, run.AttemptID)
	if err != nil {
		return j, nil, err
	}
	run, err = s.Visible(ctx, a, run)
	return j, run, err
}
