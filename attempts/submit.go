package attempts

import (
	"context"
	"fmt"
	"strings"
	"time"
)

// Freezer stops a sandbox at the submit instant (implemented by
// *sandbox.Manager). Sandboxes that implement it are frozen by Freeze.
type Freezer interface {
	Pause(ctx context.Context, id string) error
	Unpause(ctx context.Context, id string) error
	// StopTerminalWork queues SIGKILL for the candidate's work (see
	// sandbox/freeze.go for which processes): effective at Unpause.
	StopTerminalWork(ctx context.Context, id string) ([]string, error)
}

// thawTimeout bounds the thaw of a frozen sandbox, detached from the
// freeze's context: a sandbox must never stay paused because the request
// that froze it ended.
const thawTimeout = 2 * time.Minute

// Close closes an active attempt to further work from t: its deadline
// becomes t, which refuses terminal tickets, Checks, hints and edits on
// every server. An attempt already over or due earlier is left as it is.
func (s *Service) Close(ctx context.Context, a *Attempt, t time.Time) error {
	if a.State != StateActive || (a.DeadlineAt != nil && !a.DeadlineAt.After(t)) {
		return nil
	}
	if err := s.st.UpdateAttempt(ctx, a.ID, Update{DeadlineAt: &t}); err != nil {
		return fmt.Errorf("close attempt %s: %w", a.ID, err)
	}
	a.DeadlineAt = &t
	return nil
}

// Freeze stops all work in an active attempt's sandbox at the submit
// instant and returns what went wrong, in this order:
//
//  1. the sandbox is paused (cgroup freezer): nothing in it runs —
//     background loops, setsid'd or environment-scrubbed escapees;
//  2. paused is called (the caller closes the attempt's terminals);
//  3. the candidate's processes are killed (queued: effective at the thaw,
//     before they run again; sandbox.Manager.StopTerminalWork says which);
//  4. keep is called while nothing runs (the caller copies the changed
//     files out: what the reviewer reads is the submit instant);
//  5. the sandbox is thawed; the final grading (Finish) runs after.
//
// Without a Freezer (test doubles) steps 1, 3 and 5 are skipped.
func (s *Service) Freeze(ctx context.Context, a *Attempt, paused func(context.Context), keep func(context.Context) []string) (problems []string) {
	if a.State != StateActive || a.SandboxID == "" {
		return nil
	}
	log := s.log.With("attempt", a.ID)
	fz, _ := s.sb.(Freezer)
	if fz != nil {
		if err := fz.Pause(ctx, a.SandboxID); err != nil {
			problems = append(problems, fmt.Sprintf("%s: pause the sandbox at submit: %v", a.ChallengeID, err))
		} else {
			defer func() {
				uctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), thawTimeout)
				defer cancel()
				if err := fz.Unpause(uctx, a.SandboxID); err != nil {
					problems = append(problems, fmt.Sprintf("%s: thaw the sandbox after the freeze: %v", a.ChallengeID, err))
				}
			}()
		}
	}
	if paused != nil {
		paused(ctx)
	}
	if fz != nil {
		killed, err := fz.StopTerminalWork(ctx, a.SandboxID)
		if err != nil {
			problems = append(problems, fmt.Sprintf("%s: stop the candidate's processes at submit: %v", a.ChallengeID, err))
		} else if len(killed) > 0 {
			log.Info("candidate processes stopped at submit", "count", len(killed), "processes", strings.Join(killed, "; "))
		}
	}
	if keep != nil {
		problems = append(problems, keep(ctx)...)
	}
	return problems
}

// Finish completes an active attempt's submission: its final grading (a
// grading job with reason submit, the one way attempts are graded, waited
// for at most timeout), then keep (the caller stores what it keeps of the
// attempt, e.g. its files, while the sandbox still exists), then the
// attempt ends as submitted and its sandbox is removed (End, the one way
// attempts end). A final grading that fails is a problem, not an error:
// the attempt ends anyway. An error (keep's, the database's, ctx's end)
// means the attempt did not end and Finish may be called again.
func (s *Service) Finish(ctx context.Context, a *Attempt, timeout time.Duration, keep func(context.Context) error) (problems []string, err error) {
	if a.State != StateActive {
		return nil, nil
	}
	if a.SandboxID != "" {
		j, err := s.st.EnqueueJob(ctx, a.ID, ReasonSubmit)
		if err != nil {
			problems = append(problems, fmt.Sprintf("%s: queue final grading: %v", a.ChallengeID, err))
		} else {
			s.kick()
			wctx, cancel := context.WithTimeout(ctx, timeout)
			j, _, err = s.wait(wctx, j.ID)
			cancel()
			switch {
			case ctx.Err() != nil:
				return problems, ctx.Err() // shutting down: the caller redoes it
			case err != nil:
				problems = append(problems, fmt.Sprintf("%s: final grading: %v", a.ChallengeID, err))
			case j.State == JobFailed:
				problems = append(problems, fmt.Sprintf("%s: final grading failed: %s", a.ChallengeID, j.Error))
			}
		}
	}
	if keep != nil {
		if err := keep(ctx); err != nil {
			return problems, err
		}
	}
	if err := s.End(ctx, a, StateSubmitted); err != nil {
		return problems, fmt.Errorf("end attempt %s: %w", a.ID, err)
	}
	a.State = StateSubmitted
	return problems, nil
}
