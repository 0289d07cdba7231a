// Package grader runs a challenge's checks against a live sandbox or
// against submitted files and scores them with partial credit.
//
// Trust model: nothing of a check ever enters the candidate's sandbox.
// Script and http checks run in one trusted probe container per grading
// run (sandbox.Manager.Probe) that joins only the sandbox's network
// namespace (its own PID namespace: the candidate cannot see, time or
// signal it), gets process facts and a handle to the sandbox's root from a
// trusted facts container outside the sandbox's PID namespace, and uses
// its own pristine tools; file, dockerfile and
// terraform checks read the candidate's files through the Docker daemon's
// archive API, resolving symlinks inside the sandbox root; docker_build
// checks build and run the candidate's image in containers of their own.
// The grader returns results; the caller stores them.
package grader

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"strings"
	"time"

	"github.com/opsdojo/opsdojo/challenges"
	"github.com/opsdojo/opsdojo/sandbox"
)

// Output and time limits.
const (
	// MaxOutputExcerpt caps the output kept per check.
	MaxOutputExcerpt = 4 << 10
	// MaxFeedbackLines caps the feedback lines shown per check.
	MaxFeedbackLines = 20
	// maxFileRead caps a file read for a check.
	maxFileRead = 4 << 20
	// probeOverhead is added to the sum of script deadlines for the probe
	// container's own start and stop.
	probeOverhead = 15 * time.Second
)

// Sandboxes is what the grader needs from the sandbox package.
type Sandboxes interface {
	Probe(ctx context.Context, id string, p sandbox.ProbeSpec) (sandbox.ExecResult, error)
	CopyOut(ctx context.Context, id, path string, maxBytes int64) (io.ReadCloser, error)
}

// ImageBuilder builds and probes a candidate's Dockerfile (docker_build).
type ImageBuilder interface {
	BuildAndRun(ctx context.Context, req BuildRequest) (BuildResult, error)
}

// Target is what is graded: a live sandbox, or submitted files.
type Target struct {
	// SandboxID of a live sandbox; every check type works against it.
	SandboxID string
	// Files by absolute sandbox path, for grading without a sandbox (only
	// file, dockerfile and terraform checks can run; others fail with a
	// clear message).
	Files map[string][]byte
	// Env is the attempt's environment (seeded values), given to scripts.
	Env map[string]string
}

// CheckResult is one check's outcome.
type CheckResult struct {
	ID        string        `json:"id"`
	Title     string        `json:"title"`
	Type      string        `json:"type"`
	Passed    bool          `json:"passed"`
	TimedOut  bool          `json:"timed_out,omitempty"`
	Points    int           `json:"points"`
	MaxPoints int           `json:"max_points"`
	Message   string        `json:"message"`
	Output    string        `json:"output,omitempty"`
	Duration  time.Duration `json:"duration"`
	Hidden    bool          `json:"hidden,omitempty"`
	// NotRun: the grader could not run the check at all (no sandbox, the
	// probe failed): an infrastructure error, not the candidate's result.
	NotRun bool `json:"not_run,omitempty"`
	// Findings carry file:line details of static checks for editors.
	Findings []Finding `json:"findings,omitempty"`
}

// Finding is a static finding at a line of a file.
type Finding struct {
	File    string `json:"file"`
	Line    int    `json:"line"`
	Rule    string `json:"rule"`
	Message string `json:"message"`
}

// Result is a whole grading run.
type Result struct {
	Score      int           `json:"score"`
	MaxScore   int           `json:"max_score"`
	Checks     []CheckResult `json:"checks"`
	StartedAt  time.Time     `json:"started_at"`
	FinishedAt time.Time     `json:"finished_at"`
}

// FullMarks reports whether every point was earned.
func (r Result) FullMarks() bool { return r.MaxScore > 0 && r.Score == r.MaxScore }

// Grader runs checks.
type Grader struct {
	sb    Sandboxes
	build ImageBuilder
	pipes PipelineRunner // pipeline.go; nil: derived from sb when it can
	log   *slog.Logger
	now   func() time.Time
}

// New returns a Grader. build may be nil when docker_build checks are not
// used (they then fail with a clear message).
func New(sb Sandboxes, build ImageBuilder, log *slog.Logger, now func() time.Time) *Grader {
	if now == nil {
		now = time.Now
	}
	return &Grader{sb: sb, build: build, log: log.With("component", "grader"), now: now}
}

// Grade runs every check of ch against t. Checks run in spec order; each
// has its own deadline; a failing or hanging check never stops the others.
// The error is only for a grading run that could not happen at all (the
// context ended); check failures are results.
func (g *Grader) Grade(ctx context.Context, ch *challenges.Challenge, t Target) (Result, error) {
	res := Result{StartedAt: g.now(), Checks: make([]CheckResult, len(ch.Checks))}
	for i, c := range ch.Checks {
		res.Checks[i] = CheckResult{ID: c.ID, Title: c.Title, Type: c.Type, MaxPoints: c.Points, Hidden: c.Hidden}
		res.MaxScore += c.Points
	}
	// Script, http, tcp and port_owner checks share one probe container.
	var probed []int
	for i, c := range ch.Checks {
		if runsInProbe(c.Type) {
			probed = append(probed, i)
		}
	}
	if len(probed) > 0 {
		g.runProbed(ctx, ch, t, probed, res.Checks)
	}
	for i, c := range ch.Checks {
		if runsInProbe(c.Type) {
			continue
		}
		if err := ctx.Err(); err != nil {
			return res, fmt.Errorf("grade %s: %w", ch.ID, err)
		}
		cctx, cancel := context.WithTimeout(ctx, c.Timeout.D())
		start := time.Now()
		r := &res.Checks[i]
		switch c.Type {
		case challenges.CheckFile:
			g.fileCheck(cctx, t, c.File, r)
		case challenges.CheckDockerfile:
			g.dockerfileCheck(cctx, t, c.Dockerfile, r)
		case challenges.CheckTerraform:
			g.terraformCheck(cctx, t, c.Terraform, r)
		case challenges.CheckDockerBuild:
			g.dockerBuildCheck(cctx, t, c.DockerBuild, r)
		case challenges.CheckPipeline:
			g.pipelineCheck(cctx, ch, t, c.Pipeline, r)
		default:
			r.Message = fmt.Sprintf("unknown check type %q", c.Type)
		}
		if errors.Is(cctx.Err(), context.DeadlineExceeded) && !r.Passed {
			r.TimedOut = true
			r.Message = fmt.Sprintf("timed out after %s", c.Timeout.D())
		}
		r.Duration = time.Since(start)
		cancel()
	}
	if err := ctx.Err(); err != nil {
		return res, fmt.Errorf("grade %s: %w", ch.ID, err)
	}
	for i := range res.Checks {
		r := &res.Checks[i]
		if r.Passed {
			r.Points = r.MaxPoints
			res.Score += r.Points
		}
		r.Output = excerpt(r.Output)
	}
	res.FinishedAt = g.now()
	return res, nil
}

// excerpt caps output to MaxOutputExcerpt bytes on a rune boundary.
func excerpt(s string) string {
	if len(s) <= MaxOutputExcerpt {
		return s
	}
	cut := MaxOutputExcerpt
	for cut > 0 && !utf8Start(s[cut]) {
		cut--
	}
	return s[:cut] + "\n… (output truncated)"
}

func utf8Start(b byte) bool { return b&0xC0 != 0x80 }

// feedback turns a script's stdout into at most MaxFeedbackLines lines.
func feedback(out string) string {
	lines := strings.Split(strings.TrimRight(out, "\n"), "\n")
	if len(lines) > MaxFeedbackLines {
		lines = append(lines[:MaxFeedbackLines], fmt.Sprintf("… %d more lines", len(lines)-MaxFeedbackLines))
	}
	return strings.TrimSpace(strings.Join(lines, "\n"))
}
