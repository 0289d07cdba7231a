package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/opsdojo/opsdojo/pipeline"
)

const pipelineUsage = `pipeline COMMAND

Commands:
  run  [flags] DIR     run the workflows of DIR/.github/workflows offline, in sandboxed job containers;
                       prints each job's and step's output and status; exit 0 only when every job passed
  lint FILE…           lint workflow files (actionlint + the offline runner's rules), problems at file:line:col`

func runPipeline(ctx context.Context, app *cli, args []string) error {
	if len(args) == 0 {
		fmt.Fprintln(app.stderr, "Usage: opsdojo "+pipelineUsage)
		return errUsage
	}
	switch args[0] {
	case "run":
		return runPipelineRun(ctx, app, args[1:])
	case "lint":
		return runPipelineLint(app, args[1:])
	case "-h", "--help", "help":
		fmt.Fprintln(app.stdout, "Usage: opsdojo "+pipelineUsage)
		return errHelp
	default:
		fmt.Fprintf(app.stderr, "opsdojo pipeline: unknown command %q\nUsage: opsdojo %s\n", args[0], pipelineUsage)
		return errUsage
	}
}

func runPipelineLint(app *cli, files []string) error {
	if len(files) == 0 {
		fmt.Fprintln(app.stderr, "Usage: opsdojo pipeline lint FILE…")
		return errUsage
	}
	bad := 0
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			return err
		}
		for _, p := range pipeline.Lint(f, b) {
			fmt.Fprintln(app.stdout, p.String())
			bad++
		}
	}
	if bad > 0 {
		return &exitError{code: 1}
	}
	return nil
}

func runPipelineRun(ctx context.Context, app *cli, args []string) error {
	fs := newFlagSet(app, "pipeline run", "pipeline run [flags] DIR")
	image := fs.String("image", pipeline.DefaultImage, "runner image every runs-on label maps to")
	artifacts := fs.String("artifacts", "", "write uploaded artifacts under this directory (one sub-directory per artifact)")
	instance := fs.String("sandbox-instance", "", "io.opsdojo.instance label of the job containers")
	stepTimeout := fs.Duration("step-timeout", pipeline.DefaultStepTimeout, "timeout of a step that sets no timeout-minutes")
	verbose := fs.Bool("verbose", false, "log sandbox operations to stderr")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if len(fs.Args()) != 1 {
		fmt.Fprintln(app.stderr, "Usage: opsdojo pipeline run [flags] DIR")
		return errUsage
	}
	repo, err := pipeline.ReadRepo(fs.Args()[0])
	if err != nil {
		return err
	}
	if _, err := pipeline.Load(repo); err != nil {
		var inv *pipeline.InvalidError
		if errors.As(err, &inv) {
			for _, p := range inv.Problems {
				fmt.Fprintln(app.stderr, filepath.Join(fs.Args()[0], p.String()))
			}
			fmt.Fprintln(app.stderr, "pipeline: invalid workflow: nothing was run")
			return &exitError{code: 1}
		}
		return err
	}
	m, done, err := newSandboxManager(app, *instance, *verbose)
	if err != nil {
		return err
	}
	defer done()
	out := app.stdout
	r := pipeline.New(m, pipeline.Options{
		Image: *image, StepTimeout: *stepTimeout, OwnerID: cliSandboxOwner,
		OnStep: func(j *pipeline.JobResult, s *pipeline.StepResult) { printStep(out, s) },
		OnJob: func(j *pipeline.JobResult) {
			fmt.Fprintf(out, "=== job %s: %s (%s)", j.Name, strings.ToUpper(j.Status), j.Duration.Round(time.Millisecond))
			if j.Message != "" {
				fmt.Fprintf(out, " — %s", j.Message)
			}
			fmt.Fprintln(out)
		},
	}, nil)
	res, err := r.Run(ctx, repo)
	if err != nil {
		return err
	}
	if *artifacts != "" {
		if err := writeArtifacts(*artifacts, res.Artifacts); err != nil {
			return err
		}
	}
	fmt.Fprintln(out, "--- summary")
	for _, w := range res.Workflows {
		for _, j := range w.Jobs {
			fmt.Fprintf(out, "%-10s %s / %s\n", j.Status, w.File, j.Name)
		}
	}
	for name, a := range res.Artifacts {
		fmt.Fprintf(out, "artifact %s: %d file(s)\n", name, len(a.Files))
	}
	if !res.Passed() {
		fmt.Fprintf(out, "pipeline FAILED in %s\n", res.Duration.Round(time.Millisecond))
		return &exitError{code: 1}
	}
	fmt.Fprintf(out, "pipeline passed in %s\n", res.Duration.Round(time.Millisecond))
	return nil
}

func printStep(out io.Writer, s *pipeline.StepResult) {
	fmt.Fprintf(out, "--- step %s: %s", s.Name, s.Status)
	if s.Status != pipeline.StatusSkipped {
		fmt.Fprintf(out, " (exit %d, %s)", s.ExitCode, s.Duration.Round(time.Millisecond))
	}
	if s.Outcome != s.Status {
		fmt.Fprintf(out, " [outcome %s, continue-on-error]", s.Outcome)
	}
	fmt.Fprintln(out)
	for l := range strings.Lines(s.Log) {
		fmt.Fprint(out, "    | ", l)
		if !strings.HasSuffix(l, "\n") {
			fmt.Fprintln(out)
		}
	}
}

func writeArtifacts(dir string, arts map[string]*pipeline.Artifact) error {
	for name, a := range arts {
		for p, b := range a.Files {
			dst := filepath.Join(dir, filepath.Base(name), filepath.FromSlash(p))
			if !strings.HasPrefix(dst, filepath.Clean(dir)+string(filepath.Separator)) {
				return fmt.Errorf("artifact %s: path %q leaves %s", name, p, dir)
			}
			if err := os.MkdirAll(filepath.Dir(dst), 0o755); err != nil {
				return err
			}
			if err := os.WriteFile(dst, b, 0o644); err != nil {
				return err
			}
		}
	}
	return nil
}
