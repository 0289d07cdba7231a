package pipeline

import (
	"context"
	"io"
	"strings"
	"testing"
	"time"

	"github.com/opsdojo/opsdojo/sandbox"
	"github.com/opsdojo/opsdojo/sandbox/sandboxtest"
)

// newTestRunner returns a Runner over a real sandbox.Manager, or skips
// (fails under CI=true) without Docker or the runner image.
func newTestRunner(t testing.TB, o Options) *Runner {
	t.Helper()
	cli := sandboxtest.Client(t)
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if _, err := cli.ImageInspect(ctx, DefaultImage); err != nil {
		sandboxtest.Unavailable(t, "runner image %s missing (opsdojo images build runner): %v", DefaultImage, err)
	}
	inst := sandboxtest.Instance(t, cli)
	m, err := sandbox.NewManager(cli, sandbox.Config{Instance: inst, Runtime: sandboxtest.Runtime(), MaxPerOwner: -1}, nil, time.Now)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = m.Close(context.Background()) })
	return New(m, o, nil)
}

const fullWorkflow = `name: ci
on: [push, pull_request]
env:
  GREETING: hello
defaults:
  run:
    shell: bash
jobs:
  lint:
    runs-on: ubuntu-latest
    outputs:
      version: ${{ steps.ver.outputs.v }}
    steps:
      - uses: actions/checkout@v4
      - uses: actions/setup-go@v5
        with: {go-version: '1.26'}
      - id: ver
        run: |
          test -f src/app.txt
          echo "v=$(cat src/app.txt)" >> "$GITHUB_OUTPUT"
          echo "FROM_ENV_FILE=yes" >> "$GITHUB_ENV"
      - name: env carried
        working-directory: src
        run: |
          test "$FROM_ENV_FILE" = yes
          test "$GREETING" = hello
          test "$(basename "$PWD")" = src
      - name: python shell
        shell: python
        run: |
          import os
          print("py", os.environ["GREETING"])
      - name: skipped by if
        if: github.event_name == 'pull_request'
        run: exit 1
  test:
    needs: lint
    runs-on: ubuntu-latest
    strategy:
      matrix:
        n: [1, 2]
    steps:
      - run: echo "leg ${{ matrix.n }} version ${{ needs.lint.outputs.version }}"
      - run: test "${{ needs.lint.outputs.version }}" = 1.2.3
      - run: mkdir -p out && echo "built ${{ matrix.n }}" > out/app-${{ matrix.n }}.txt
      - uses: actions/upload-artifact@v4
        with:
          name: app-${{ matrix.n }}
          path: out/
  package:
    needs: [test]
    runs-on: ubuntu-latest
    steps:
      - uses: actions/download-artifact@v4
        with: {name: app-2, path: dist}
      - run: cat dist/app-2.txt
  never:
    if: github.ref == 'refs/heads/release'
    runs-on: ubuntu-latest
    steps:
      - run: exit 1
  offline:
    runs-on: ubuntu-latest
    steps:
      - name: no network inside jobs
        run: |
          if timeout 5 bash -c 'echo > /dev/tcp/1.1.1.1/53' 2>/dev/null; then echo REACHED; exit 1; fi
          if getent hosts example.com; then echo RESOLVED; exit 1; fi
          echo offline
`

func TestRunWorkflow(t *testing.T) {
	var order []string
	r := newTestRunner(t, Options{OnJob: func(j *JobResult) { order = append(order, j.Name) }})
	repo := repoOf(map[string]string{".github/workflows/ci.yml": fullWorkflow, "src/app.txt": "1.2.3"})
	ctx := sandboxtest.Context(t, 10*time.Minute)
	res, err := r.Run(ctx, repo)
	if err != nil {
		t.Fatal(err)
	}
	dump := dumpResult(res)
	if !res.Passed() {
		t.Fatalf("run failed:\n%s", dump)
	}
	w := res.Workflows[0]
	want := []string{"lint", "never", "offline", "test (1)", "test (2)", "package"}
	if strings.Join(order, ",") != strings.Join(want, ",") {
		t.Errorf("jobs ran as %v, want %v", order, want)
	}
	lint := w.Job("lint")[0]
	if lint.Outputs["version"] != "1.2.3" {
		t.Errorf("lint outputs = %v\n%s", lint.Outputs, dump)
	}
	if s := lint.Steps[5]; s.Status != StatusSkipped {
		t.Errorf("step with a false if: %s", s.Status)
	}
	if s := lint.Steps[4]; !strings.Contains(s.Log, "py hello") {
		t.Errorf("python shell step log %q", s.Log)
	}
	if j := w.Job("never")[0]; j.Status != StatusSkipped || j.NeedFailed {
		t.Errorf("never: %s %v", j.Status, j.NeedFailed)
	}
	if s := w.Job("test")[1].Steps[0]; !strings.Contains(s.Log, "leg 2 version 1.2.3") {
		t.Errorf("matrix leg log %q", s.Log)
	}
	if a := res.Artifacts["app-1"]; a == nil || string(a.Files["app-1.txt"]) != "built 1\n" {
		t.Errorf("artifact app-1 = %+v", a)
	}
	if s := w.Job("package")[0].Steps[1]; !strings.Contains(s.Log, "built 2") {
		t.Errorf("download-artifact then cat: %q", s.Log)
	}
	if s := w.Job("offline")[0].Steps[0]; !strings.Contains(s.Log, "offline") {
		t.Errorf("offline: %q", s.Log)
	}
}

func TestFailingStepFailsJobAndSkipsDependants(t *testing.T) {
	r := newTestRunner(t, Options{})
	wf := `on: push
jobs:
  test:
    runs-on: ubuntu-latest
    steps:
      - run: echo testing; exit 3
      - run: echo SHOULD-NOT-RUN
      - if: failure()
        run: echo cleanup after failure
      - if: always()
        run: echo always
  package:
    needs: test
    runs-on: ubuntu-latest
    steps:
      - run: echo packaging
`
	ctx := sandboxtest.Context(t, 5*time.Minute)
	res, err := r.Run(ctx, repoOf(map[string]string{".github/workflows/ci.yml": wf}))
	if err != nil {
		t.Fatal(err)
	}
	if res.Passed() {
		t.Fatalf("a failing step passed the run:\n%s", dumpResult(res))
	}
	test := res.Workflows[0].Job("test")[0]
	if len(test.Steps) != 4 {
		t.Fatalf("test job has %d steps:\n%s", len(test.Steps), dumpResult(res))
	}
	if test.Status != StatusFailure || test.Steps[0].ExitCode != 3 || test.Steps[1].Status != StatusSkipped ||
		test.Steps[2].Status != StatusSuccess || test.Steps[3].Status != StatusSuccess {
		t.Errorf("test job:\n%s", dumpResult(res))
	}
	pkg := res.Workflows[0].Job("package")[0]
	if pkg.Status != StatusSkipped || !pkg.NeedFailed || len(pkg.Steps) != 0 {
		t.Errorf("package job: %+v", pkg)
	}
}

func TestRunRefusesUnknownActionBeforeRunning(t *testing.T) {
	created := 0
	r := New(countingBackend{&created}, Options{}, nil)
	wf := "on: push\njobs:\n  a:\n    runs-on: ubuntu-latest\n    steps:\n      - uses: someone/deploy@v1\n"
	_, err := r.Run(context.Background(), repoOf(map[string]string{".github/workflows/ci.yml": wf}))
	if err == nil || !strings.Contains(err.Error(), "someone/deploy@v1") || !strings.Contains(err.Error(), "ci.yml:6:15") {
		t.Fatalf("Run: %v", err)
	}
	if created != 0 {
		t.Errorf("%d job containers created for an invalid workflow", created)
	}
}

type countingBackend struct{ n *int }

func (c countingBackend) Create(context.Context, sandbox.Spec) (*sandbox.Sandbox, error) {
	*c.n++
	return &sandbox.Sandbox{ID: "x"}, nil
}
func (countingBackend) Exec(context.Context, string, []string, sandbox.ExecOptions) (sandbox.ExecResult, error) {
	return sandbox.ExecResult{}, nil
}
func (countingBackend) CopyIn(context.Context, string, string, io.Reader) error { return nil }
func (countingBackend) CopyOut(context.Context, string, string, int64) (io.ReadCloser, error) {
	return nil, nil
}
func (countingBackend) Remove(context.Context, string) error { return nil }

func dumpResult(res *Result) string {
	var b strings.Builder
	for _, w := range res.Workflows {
		for _, j := range w.Jobs {
			b.WriteString("job " + j.Name + ": " + j.Status + " " + j.Message + "\n")
			for _, s := range j.Steps {
				b.WriteString("  step " + s.Name + ": " + s.Status + "\n")
				for l := range strings.Lines(s.Log) {
					b.WriteString("    | " + l)
				}
			}
		}
	}
	return b.String()
}
