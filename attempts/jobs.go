package attempts

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"time"

	"github.com/opsdojo/opsdojo/apperr"
	"github.com/opsdojo/opsdojo/grader"
	"github.com/opsdojo/opsdojo/sandbox"
)

// kick wakes one idle worker.
func (s *Service) kick() {
	select {
	case s.wake <- struct{}{}:
	default:
	}
}

// RunWorkers grades queued jobs with cfg.Workers workers until ctx ends.
// Jobs survive restarts: a job leased by a worker that died is taken again
// once its lease expires.
func (s *Service) RunWorkers(ctx context.Context) {
	var wg sync.WaitGroup
	for i := 0; i < s.cfg.Workers; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			s.worker(ctx, fmt.Sprintf("%s/w%d", s.cfg.InstanceID, i))
		}()
	}
	wg.Wait()
}

func (s *Service) worker(ctx context.Context, owner string) {
	t := time.NewTicker(s.cfg.PollInterval)
	defer t.Stop()
	for {
		job, err := s.st.LeaseJob(ctx, owner, s.now().UTC(), s.cfg.Lease)
		if err == nil {
			s.process(ctx, owner, job)
			continue
		}
		if apperr.ErrorCode(err) != apperr.NotFound && ctx.Err() == nil {
			s.log.Warn("lease grading job", "err", err)
		}
		select {
		case <-ctx.Done():
			return
		case <-s.wake:
		case <-t.C:
		}
	}
}

func (s *Service) process(ctx context.Context, owner string, job *GradingJob) {
	log := s.log.With("job", job.ID, "attempt", job.AttemptID, "try", job.Tries)
	defer s.notify(job.ID)
	if job.Tries > s.cfg.MaxTries {
		s.fail(ctx, job, owner, fmt.Sprintf("gave up after %d tries", s.cfg.MaxTries))
		return
	}
	a, err := s.st.AttemptByID(ctx, job.AttemptID)
	if err != nil {
		s.fail(ctx, job, owner, "attempt: "+err.Error())
		return
	}
	ch, err := s.challengeFor(a)
	if err != nil {
		s.fail(ctx, job, owner, err.Error())
		return
	}
	if a.SandboxID == "" {
		s.fail(ctx, job, owner, ErrNoSandbox.Error())
		return
	}
	// A hibernated sandbox is restored first; one that is gone fails the
	// job and stores nothing.
	if a.State == StateActive {
		if err := s.resume(ctx, a); err != nil {
			s.fail(ctx, job, owner, failReason(err))
			return
		}
	}
	release := s.sb.Hold(a.SandboxID)
	defer release()
	// Keep the lease while grading; a server killed mid-grading lets it
	// lapse and another worker (after restart) takes the job again.
	gctx, cancel := context.WithCancel(ctx)
	defer cancel()
	go func() {
		t := time.NewTicker(s.cfg.Lease / 3)
		defer t.Stop()
		for {
			select {
			case <-gctx.Done():
				return
			case <-t.C:
				if err := s.st.RenewLease(gctx, job.ID, owner, s.now().Add(s.cfg.Lease).UTC()); err != nil && gctx.Err() == nil {
					log.Warn("renew lease", "err", err)
				}
			}
		}
	}()
	start := s.now().UTC()
	began := time.Now()
	res, err := s.g.Grade(gctx, ch, grader.TargetFor(ch, a.Seed, a.SandboxID))
	if err != nil {
		if ctx.Err() != nil {
			log.Info("grading interrupted by shutdown; the job resumes after restart")
			return
		}
		s.observeGrading(began, GradingError)
		s.fail(ctx, job, owner, err.Error())
		return
	}
	// A grading whose checks could not run (the sandbox vanished, the
	// probe could not start) is not a score: storing it would replace the
	// candidate's result with zeros.
	if why := s.infraFailure(a, res); why != "" {
		s.observeGrading(began, GradingError)
		s.fail(ctx, job, owner, why)
		return
	}
	run := RunFromResult(a.ID, res, start)
	if err := s.st.FinishJob(ctx, job.ID, owner, run); err != nil {
		log.Warn("store grading result", "err", err)
		return
	}
	s.observeGrading(began, GradingGraded)
	if cost, err := s.HintCost(ctx, a); err == nil && cost > 0 {
		score := run.Score - cost
		if score < 0 {
			score = 0
		}
		_ = s.st.UpdateAttempt(ctx, a.ID, Update{Score: new(score)})
	}
	log.Info("graded", "score", run.Score, "max", run.MaxScore, "took", s.now().Sub(start))
}

func (s *Service) fail(ctx context.Context, job *GradingJob, owner, reason string) {
	s.log.Warn("grading job failed", "job", job.ID, "attempt", job.AttemptID, "reason", reason)
	if err := s.st.FailJob(context.WithoutCancel(ctx), job.ID, owner, reason, s.now().UTC()); err != nil {
		s.log.Warn("mark job failed", "job", job.ID, "err", err)
	}
}

// Prefixes of a failed job's error that JobError maps back to errors.
const (
	failGone  = "sandbox gone: "
	failInfra = "grading could not run: "
)

// infraFailure says why a grading result is not a score ("" when it is).
func (s *Service) infraFailure(a *Attempt, res grader.Result) string {
	if _, err := s.sb.Get(a.SandboxID); errors.Is(err, sandbox.ErrNotFound) {
		return failGone + "the sandbox disappeared during grading"
	}
	for _, c := range res.Checks {
		if c.NotRun { // infrastructure, not the candidate's result
			return failInfra + c.ID + ": " + c.Message
		}
	}
	return ""
}

func failReason(err error) string {
	if errors.Is(err, ErrSandboxGone) {
		return failGone + err.Error()
	}
	return failInfra + err.Error()
}

// JobError is the error of a failed job: ErrSandboxGone or
// ErrGradingFailed (the detail kept as its hidden cause, for the logs),
// nil for other jobs.
func JobError(j *GradingJob) error {
	if j == nil || j.State != JobFailed {
		return nil
	}
	switch {
	case strings.HasPrefix(j.Error, failGone):
		return apperr.Hide(ErrSandboxGone, errors.New(strings.TrimPrefix(j.Error, failGone)))
	default:
		return apperr.Hide(ErrGradingFailed, errors.New(strings.TrimPrefix(j.Error, failInfra)))
	}
}

// RunFromResult converts a grader result to the stored check run.
func RunFromResult(attemptID string, res grader.Result, start time.Time) *CheckRun {
	run := &CheckRun{AttemptID: attemptID, Score: res.Score, MaxScore: res.MaxScore, StartedAt: start, FinishedAt: res.FinishedAt.UTC()}
	if run.FinishedAt.IsZero() {
		run.FinishedAt = time.Now().UTC()
	}
	for _, c := range res.Checks {
		run.Results = append(run.Results, CheckResult{
			CheckID: c.ID, Title: c.Title, Passed: c.Passed, TimedOut: c.TimedOut, Points: c.Points, MaxPoints: c.MaxPoints,
			Message: c.Message, Output: c.Output, DurationMS: c.Duration.Milliseconds(),
		})
	}
	return run
}

// notify wakes those waiting for job.
func (s *Service) notify(jobID string) {
	s.mu.Lock()
	ws := s.waiters[jobID]
	delete(s.waiters, jobID)
	s.mu.Unlock()
	for _, w := range ws {
		close(w)
	}
}

// wait blocks until job is done or failed, or ctx ends, and returns it
// with its check run (nil unless done), as graded: Wait (policy.go) is
// what candidates see.
func (s *Service) wait(ctx context.Context, jobID string) (*GradingJob, *CheckRun, error) {
	for {
		ch := make(chan struct{})
		s.mu.Lock()
		s.waiters[jobID] = append(s.waiters[jobID], ch)
		s.mu.Unlock()
		j, err := s.st.JobByID(ctx, jobID)
		if err != nil {
			return nil, nil, err
		}
		switch j.State {
		case JobDone:
			run, err := s.st.CheckRunByID(ctx, j.CheckRunID)
			return j, run, err
		case JobFailed:
			return j, nil, nil
		}
		select {
		case <-ctx.Done():
			return j, nil, ctx.Err()
		case <-ch:
		case <-time.After(2 * time.Second): // a worker of another process may finish it
		}
	}
}
