package pipeline

import (
	"context"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"github.com/opsdojo/opsdojo/sandbox"
)

const benchWorkflow = `on: push
jobs:
  lint:
    runs-on: ubuntu-latest
    steps:
      - uses: actions/checkout@v4
      - run: python3 -m flake8 .
  test:
    needs: lint
    runs-on: ubuntu-latest
    steps:
      - uses: actions/checkout@v4
      - run: python3 -m pytest -q
`

// BenchmarkTwoJobWorkflow compares, interleaved in the same run, a
// two-job workflow (lint, then test; two job containers) with the same
// steps run by hand in one sandbox (create, copy the repository, flake8,
// pytest, remove). Reported: p50 of each and their ratio.
//
//	go test ./pipeline/ -run '^$' -bench TwoJob -benchtime 5x
func BenchmarkTwoJobWorkflow(b *testing.B) {
	r := newTestRunnerB(b)
	repo, err := ReadRepo(filepath.Join("..", "library", "challenges", "pipeline-ci-takehome", "starter"))
	if err != nil {
		b.Fatal(err)
	}
	// The starter's layout is the repository's: add the workflow.
	repo = repo.Clone()
	repo.Files[".github/workflows/ci.yml"] = RepoFile{Mode: 0o644, Content: []byte(benchWorkflow)}
	delete(repo.Files, "ci.yml")
	ctx := context.Background()
	var wf, hand []time.Duration
	for b.Loop() {
		t0 := time.Now()
		res, err := r.Run(ctx, repo)
		if err != nil || !res.Passed() {
			b.Fatalf("workflow: %v\n%s", err, dumpResult(res))
		}
		wf = append(wf, time.Since(t0))
		t0 = time.Now()
		byHand(b, ctx, r, repo)
		hand = append(hand, time.Since(t0))
	}
	pw, ph := p50(wf), p50(hand)
	b.ReportMetric(float64(pw.Milliseconds()), "workflow-ms/op")
	b.ReportMetric(float64(ph.Milliseconds()), "byhand-ms/op")
	b.ReportMetric(float64(pw)/float64(ph), "ratio")
}

func byHand(b *testing.B, ctx context.Context, r *Runner, repo *Repo) {
	sb, err := r.b.Create(ctx, sandbox.Spec{Image: r.o.Image, User: runnerUser, Network: sandbox.NetworkNone, IdleTimeout: -1})
	if err != nil {
		b.Fatal(err)
	}
	defer r.b.Remove(context.WithoutCancel(ctx), sb.ID)
	tr, _ := repo.tarUnder("work", runnerUID, runnerUID)
	if err := r.b.CopyIn(ctx, sb.ID, homeDir, tr); err != nil {
		b.Fatal(err)
	}
	for _, cmd := range [][]string{{"python3", "-m", "flake8", "."}, {"python3", "-m", "pytest", "-q"}} {
		res, err := r.b.Exec(ctx, sb.ID, cmd, sandbox.ExecOptions{WorkDir: homeDir + "/work"})
		if err != nil || res.ExitCode != 0 {
			b.Fatalf("%v: %v %s%s", cmd, err, res.Stdout, res.Stderr)
		}
	}
}

func p50(d []time.Duration) time.Duration {
	s := slices.Clone(d)
	slices.Sort(s)
	return s[len(s)/2]
}

func newTestRunnerB(b *testing.B) *Runner {
	return newTestRunner(b, Options{})
}
