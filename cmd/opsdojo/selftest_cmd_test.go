package main

import (
	"path/filepath"
	"regexp"
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

// TestSelfTestRestoresTheSolution: `challenge test` hibernates and
// restores the solution's sandbox once and grades it again; a challenge
// whose solution starts a service but that declares no on_resume to start
// it again fails, naming the restored scenario and the check.
func TestSelfTestRestoresTheSolution(t *testing.T) {
	t.Parallel()
	sandboxtest.Image(t, sandboxtest.Client(t))
	code, out, stderr := run(t, nil, "challenge", "test", "testdata/broken/no-resume")
	t.Log(out)
	if code != 1 || !strings.Contains(out, "FAIL no-resume") || !strings.Contains(out, "ok   run 1 solution ") ||
		!regexp.MustCompile(`FAIL run 1 solution \(restored\) +50/100 .*failed checks: serves`).MatchString(out) {
		t.Fatalf("exit %d, output:\n%s%s", code, out, stderr)
	}
}

// TestSelfTestSamples: the samples pass, their solutions also after a
// hibernate and restore (web-perms' on_resume starts its web server).
func TestSelfTestSamples(t *testing.T) {
	t.Parallel()
	sandboxtest.Image(t, sandboxtest.Client(t))
	code, out, stderr := run(t, nil, "challenge", "test", "--runs", "2", "testdata/challenges", "../../grader/testdata/web-perms")
	t.Log(out)
	if code != 0 || !strings.Contains(out, "2 passed, 0 failed") || strings.Count(out, "ok   run 1 solution (restored) ") != 2 {
		t.Fatalf("exit %d\n%s%s", code, out, stderr)
	}
}
