package main

import (
	"path/filepath"
	"strings"
	"testing"

	"github.com/opsdojo/opsdojo/sandbox/sandboxtest"
)

// TestScaffoldsPassLintAndSelfTest: `challenge new` gives, for every kind,
// a challenge that lints clean and passes `challenge test` in real sandboxes.
func TestScaffoldsPassLintAndSelfTest(t *testing.T) {
	t.Parallel()
	sandboxtest.Image(t, sandboxtest.Client(t))
	for _, kind := range []string{"troubleshoot", "dockerfile", "terraform"} {
		t.Run(kind, func(t *testing.T) {
			t.Parallel()
			dir := filepath.Join(t.TempDir(), "c")
			if code, _, stderr := run(t, nil, "challenge", "new", kind, "my-"+kind, "--dir", dir); code != 0 {
				t.Fatalf("new: %d %s", code, stderr)
			}
			if code, out, stderr := run(t, nil, "challenge", "lint", dir); code != 0 {
				t.Fatalf("lint: %d %s %s", code, out, stderr)
			}
			code, out, stderr := run(t, nil, "challenge", "test", dir)
			t.Log(out)
			if code != 0 || !strings.Contains(out, "1 passed, 0 failed") {
				t.Fatalf("self-test: exit %d\n%s%s", code, out, stderr)
			}
		})
	}
}

// TestSelfTestReportsABrokenSolution: a challenge whose solution does not
// reach full marks fails `challenge test` with exit 1 and says which check.
func TestSelfTestReportsABrokenSolution(t *testing.T) {
	t.Parallel()
	sandboxtest.Image(t, sandboxtest.Client(t))
	code, out, _ := run(t, nil, "challenge", "test", "testdata/broken/half-solution")
	if code != 1 || !strings.Contains(out, "FAIL half-solution") || !strings.Contains(out, "failed checks: debug") {
		t.Fatalf("exit %d, output:\n%s", code, out)
	}
}

func TestSelfTestSamples(t *testing.T) {
	t.Parallel()
	sandboxtest.Image(t, sandboxtest.Client(t))
	code, out, stderr := run(t, nil, "challenge", "test", "--runs", "2", "testdata/challenges", "../../grader/testdata/web-perms")
	t.Log(out)
	if code != 0 || !strings.Contains(out, "2 passed, 0 failed") {
		t.Fatalf("exit %d\n%s%s", code, out, stderr)
	}
}
