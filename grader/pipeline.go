package grader

import (
	"context"
	"errors"
	"fmt"
	"path"
	"slices"
	"strings"

	"github.com/opsdojo/opsdojo/challenges"
	"github.com/opsdojo/opsdojo/pipeline"
)

// PipelineRunner runs a repository's workflows (pipeline.Runner).
type PipelineRunner interface {
	Run(ctx context.Context, repo *pipeline.Repo) (*pipeline.Result, error)
}

// SetPipelines sets the runner of pipeline checks. Without one, a grader
// whose Sandboxes is also a pipeline.Backend (sandbox.Manager is) runs
// pipelines with pipeline.New over it and the default runner image.
func (g *Grader) SetPipelines(p PipelineRunner) { g.pipes = p }

func (g *Grader) pipelineRunner() PipelineRunner {
	if g.pipes != nil {
		return g.pipes
	}
	if b, ok := g.sb.(pipeline.Backend); ok {
		return pipeline.New(b, pipeline.Options{OwnerID: "grader"}, g.log)
	}
	return nil
}

// pipelineCheck: the workflows pass on the candidate's repository, upload
// the declared artifacts, order the declared jobs by needs, and FAIL on
// every declared mutation of a copy of the repository.
func (g *Grader) pipelineCheck(ctx context.Context, ch *challenges.Challenge, t Target, c *challenges.PipelineCheck, r *CheckResult) {
	runner := g.pipelineRunner()
	if runner == nil {
		r.NotRun, r.Message = true, "pipeline checks need the sandbox manager (no pipeline runner configured)"
		return
	}
	repo, err := g.pipelineRepo(ctx, t, c.Repo)
	if err != nil {
		r.Message = err.Error()
		return
	}
	res, err := runner.Run(ctx, repo)
	var inv *pipeline.InvalidError
	if errors.As(err, &inv) {
		r.Message = "the workflow is invalid: nothing was run"
		var lines []string
		for _, p := range inv.Problems {
			lines = append(lines, p.String())
			r.Findings = append(r.Findings, Finding{File: path.Join(c.Repo, p.File), Line: p.Line, Rule: p.Rule, Message: p.Message})
		}
		r.Output = strings.Join(lines, "\n")
		return
	}
	if err != nil {
		if ctx.Err() != nil {
			return // the caller reports the timeout
		}
		r.NotRun, r.Message = true, fmt.Sprintf("could not run the pipeline: %v", err)
		return
	}
	r.Output = pipelineLog(res)
	if !res.Passed() {
		r.Message = "the workflow fails on your repository: " + firstFailure(res)
		return
	}
	for _, a := range c.Artifacts {
		if msg := checkArtifact(res, a); msg != "" {
			r.Message = msg
			return
		}
	}
	for _, o := range c.Order {
		if msg := checkOrder(res, o); msg != "" {
			r.Message = msg
			return
		}
	}
	for _, m := range c.Mutations {
		mut := repo.Clone()
		for dst, src := range m.Files {
			mut.Files[path.Clean(dst)] = pipeline.RepoFile{Mode: 0o644, Content: ch.File(src)}
		}
		for _, d := range m.Delete {
			delete(mut.Files, path.Clean(d))
		}
		if m.Script != "" {
			mut.Prepare = string(ch.File(m.Script))
		}
		mres, err := runner.Run(ctx, mut)
		if errors.As(err, &inv) {
			continue // a mutation that makes the workflow invalid is caught
		}
		if err != nil {
			if ctx.Err() != nil {
				return
			}
			r.NotRun, r.Message = true, fmt.Sprintf("could not run the pipeline on the mutation %q: %v", m.Name, err)
			return
		}
		if mres.Passed() {
			r.Message = fmt.Sprintf("the workflow still passes when the repository has %s: it does not catch it", m.Name)
			r.Output = "run with the mutation:\n" + pipelineLog(mres)
			return
		}
	}
	r.Passed = true
	r.Message = "the workflow passes"
	if len(c.Mutations) > 0 {
		names := make([]string, 0, len(c.Mutations))
		for _, m := range c.Mutations {
			names = append(names, m.Name)
		}
		r.Message += " and fails on " + strings.Join(names, ", ")
	}
}

// pipelineRepo reads the repository from the sandbox (or the submitted files).
func (g *Grader) pipelineRepo(ctx context.Context, t Target, dir string) (*pipeline.Repo, error) {
	name := path.Base(dir)
	if t.SandboxID == "" {
		repo := &pipeline.Repo{Name: name, Files: map[string]pipeline.RepoFile{}}
		prefix := strings.TrimSuffix(dir, "/") + "/"
		for p, b := range t.Files {
			if rel, ok := strings.CutPrefix(p, prefix); ok {
				repo.Files[rel] = pipeline.RepoFile{Mode: 0o644, Content: b}
			}
		}
		if len(repo.Files) == 0 {
			return nil, fmt.Errorf("no files under %s were submitted", dir)
		}
		return repo, nil
	}
	rc, err := g.sb.CopyOut(ctx, t.SandboxID, dir, pipeline.MaxRepoBytes)
	if err != nil {
		return nil, fmt.Errorf("read the repository %s: %w", dir, err)
	}
	defer rc.Close()
	repo, err := pipeline.RepoFromTar(name, rc, true)
	if err != nil {
		return nil, fmt.Errorf("read the repository %s: %w", dir, err)
	}
	return repo, nil
}

func firstFailure(res *pipeline.Result) string {
	for _, w := range res.Workflows {
		for _, j := range w.Jobs {
			if j.Status == pipeline.StatusSuccess || (j.Status == pipeline.StatusSkipped && !j.NeedFailed) {
				continue
			}
			for _, s := range j.Steps {
				if s.Status == pipeline.StatusFailure {
					return fmt.Sprintf("job %s, step %q failed (exit %d)", j.Name, s.Name, s.ExitCode)
				}
			}
			if j.Message != "" {
				return fmt.Sprintf("job %s: %s", j.Name, j.Message)
			}
			return fmt.Sprintf("job %s: %s", j.Name, j.Status)
		}
	}
	return "no job ran"
}

func checkArtifact(res *pipeline.Result, a challenges.PipelineArtifact) string {
	art, ok := res.Artifacts[a.Name]
	if !ok {
		return fmt.Sprintf("no artifact named %q was uploaded", a.Name)
	}
	if a.Path == "" {
		return ""
	}
	b, ok := art.Files[path.Clean(a.Path)]
	if !ok {
		return fmt.Sprintf("artifact %q has no file %s", a.Name, a.Path)
	}
	if a.Contains != "" && !strings.Contains(string(b), a.Contains) {
		return fmt.Sprintf("artifact %q: %s does not contain what was expected", a.Name, a.Path)
	}
	return ""
}

func checkOrder(res *pipeline.Result, o challenges.PipelineOrder) string {
	for _, w := range res.Workflows {
		if len(w.Job(o.Job)) == 0 {
			continue
		}
		for _, a := range o.After {
			if !w.Workflow.DependsOn(o.Job, a) {
				return fmt.Sprintf("job %s must run only after %s (needs: %s)", o.Job, a, a)
			}
		}
		for _, j := range w.Job(o.Job) {
			if j.Status != pipeline.StatusSuccess {
				return fmt.Sprintf("job %s did not run (%s)", o.Job, j.Status)
			}
		}
		return ""
	}
	return fmt.Sprintf("no workflow has a job %s", o.Job)
}

// pipelineLog is the candidate-facing log of a run: each job and step with
// its status, and the log of failed steps (excerpt caps the whole).
func pipelineLog(res *pipeline.Result) string {
	var b strings.Builder
	for _, w := range res.Workflows {
		for _, j := range w.Jobs {
			fmt.Fprintf(&b, "job %s: %s", j.Name, j.Status)
			if j.Message != "" {
				fmt.Fprintf(&b, " (%s)", j.Message)
			}
			b.WriteString("\n")
			for _, s := range j.Steps {
				fmt.Fprintf(&b, "  step %s: %s\n", s.Name, s.Status)
				if s.Status == pipeline.StatusFailure || s.Outcome == pipeline.StatusFailure {
					lines := strings.Split(strings.TrimRight(s.Log, "\n"), "\n")
					if len(lines) > 15 {
						lines = slices.Concat([]string{"…"}, lines[len(lines)-15:])
					}
					for _, l := range lines {
						b.WriteString("    | " + l + "\n")
					}
				}
			}
		}
	}
	return b.String()
}
