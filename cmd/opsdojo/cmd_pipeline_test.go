package main

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/opsdojo/opsdojo/pipeline"
	"github.com/opsdojo/opsdojo/sandbox/sandboxtest"
)

func runPipelineCLI(t *testing.T, args ...string) (int, string, string) {
	t.Helper()
	var out, errb bytes.Buffer
	app := &cli{stdin: strings.NewReader(""), stdout: &out, stderr: &errb, getenv: func(string) string { return "" }}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	return app.main(ctx, args), out.String(), errb.String()
}

func writeRepo(t *testing.T, workflow string) string {
	t.Helper()
	dir := t.TempDir()
	p := filepath.Join(dir, ".github", "workflows", "ci.yml")
	if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(p, []byte(workflow), 0o644); err != nil {
		t.Fatal(err)
	}
	return dir
}

// TestPipelineRunInvalidFailsBeforeRunning: an invalid workflow exits 1
// with file:line:col and runs nothing (no Docker needed).
func TestPipelineRunInvalidFailsBeforeRunning(t *testing.T) {
	t.Parallel()
	dir := writeRepo(t, "on: push\njobs:\n  a:\n    runs-on: ubuntu-latest\n    steps:\n      - uses: acme/deploy@v1\n")
	code, _, stderr := runPipelineCLI(t, "pipeline", "run", dir)
	if code != 1 || !strings.Contains(stderr, filepath.Join(dir, ".github/workflows/ci.yml")+":6:15:") || !strings.Contains(stderr, "nothing was run") {
		t.Fatalf("exit %d, stderr:\n%s", code, stderr)
	}
}

// TestPipelineRunExitStatus: exit 0 only when every job passed; each
// job's and step's output is printed.
func TestPipelineRunExitStatus(t *testing.T) {
	t.Parallel()
	cli := sandboxtest.Client(t)
	sandboxtest.NeedImage(t, cli, pipeline.DefaultImage, "opsdojo images build runner")
	inst := sandboxtest.Instance(t, cli)
	ok := writeRepo(t, "on: push\njobs:\n  a:\n    runs-on: ubuntu-latest\n    steps:\n      - run: echo hello-from-a\n  b:\n    needs: a\n    runs-on: ubuntu-latest\n    steps:\n      - run: echo hello-from-b\n")
	code, out, stderr := runPipelineCLI(t, "pipeline", "run", "--sandbox-instance", inst, ok)
	if code != 0 || !strings.Contains(out, "hello-from-a") || !strings.Contains(out, "hello-from-b") || !strings.Contains(out, "pipeline passed") {
		t.Fatalf("passing workflow: exit %d\n%s%s", code, out, stderr)
	}
	bad := writeRepo(t, "on: push\njobs:\n  a:\n    runs-on: ubuntu-latest\n    steps:\n      - run: echo failing; exit 2\n")
	code, out, stderr = runPipelineCLI(t, "pipeline", "run", "--sandbox-instance", inst, bad)
	if code != 1 || !strings.Contains(out, "failing") || !strings.Contains(out, "pipeline FAILED") {
		t.Fatalf("failing workflow: exit %d\n%s%s", code, out, stderr)
	}
}
