package main

import (
	"context"
	"log/slog"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/opsdojo/opsdojo/challenges"
	"github.com/opsdojo/opsdojo/grader"
	"github.com/opsdojo/opsdojo/sandbox"
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

// TestSelfTestVerboseShowsChecks: `challenge test -v` prints every check's
// message under every scenario; the checks source a lib/ helper (copied
// next to them in the probe: without it the solution fails with "want:
// command not found"), and the wrong fix's declared score and failing
// check are met.
func TestSelfTestVerboseShowsChecks(t *testing.T) {
	t.Parallel()
	sandboxtest.Image(t, sandboxtest.Client(t))
	code, out, stderr := run(t, nil, "challenge", "test", "-v", "testdata/authoring/lib-helpers")
	t.Log(out)
	for _, want := range []*regexp.Regexp{
		regexp.MustCompile(`(?m)^  ok   run 1 unsolved +0/100 must not reach full marks`),
		regexp.MustCompile(`(?m)^      FAIL mode +0/50  mode is 'broken', want 'fixed' \(lib/conf.sh\)$`),
		regexp.MustCompile(`(?m)^  ok   run 1 wrong: wrong/mode-only.sh +50/100 must score 50, fail level`),
		regexp.MustCompile(`(?m)^      pass mode +50/50  mode is fixed$`),
		regexp.MustCompile(`(?m)^      FAIL level +0/50  level is 'debug', want 'info' \(lib/conf.sh\)$`),
		regexp.MustCompile(`(?m)^  ok   run 1 solution +100/100 must reach full marks`),
		regexp.MustCompile(`(?m)^      pass level +50/50  level is info$`),
	} {
		if !want.MatchString(out) {
			t.Errorf("output does not match %s", want)
		}
	}
	if code != 0 || !strings.HasSuffix(out, "1 passed, 0 failed\n") {
		t.Fatalf("exit %d\n%s%s", code, out, stderr)
	}
}

// TestSelfTestWrongFixExpectations: a wrong fix that stays below full
// marks but not at the score it declares fails `challenge test`, saying
// which expectation was missed, with the checks' messages printed
// (without -v: failures always show them).
func TestSelfTestWrongFixExpectations(t *testing.T) {
	t.Parallel()
	sandboxtest.Image(t, sandboxtest.Client(t))
	code, out, stderr := run(t, nil, "challenge", "test", "testdata/broken/wrong-expect")
	t.Log(out)
	if code != 1 || !strings.Contains(out, "FAIL wrong-expect") ||
		!regexp.MustCompile(`(?m)^  FAIL run 1 wrong: wrong/mode-only.sh +50/100 must score 0, fail mode, level — expected score 0, got 50; expected mode to fail, it passed`).MatchString(out) ||
		!regexp.MustCompile(`(?m)^      pass mode +50/50  mode is fixed\n      FAIL level +0/50  level is 'debug', want 'info' \(lib/conf.sh\)\n`).MatchString(out) ||
		strings.Contains(out, "      pass level") || !strings.HasSuffix(out, "0 passed, 1 failed\n") {
		t.Fatalf("exit %d\n%s%s", code, out, stderr)
	}
}

// TestChallengeCheckLiveSandbox: `challenge check` grades a running
// sandbox it did not create, by sandbox ID or by attempt ID, all checks or
// the one named, prints each check's message, exits 1 when one fails, and
// leaves the sandbox running.
func TestChallengeCheckLiveSandbox(t *testing.T) {
	t.Parallel()
	dc := sandboxtest.Client(t)
	sandboxtest.Image(t, dc)
	inst := sandboxtest.Instance(t, dc)
	ctx := sandboxtest.Context(t, 3*time.Minute)
	m, err := sandbox.NewManager(dc, sandbox.Config{Instance: inst, MaxPerOwner: -1}, slog.New(slog.DiscardHandler), time.Now)
	if err != nil {
		t.Fatal(err)
	}
	const dir = "testdata/authoring/lib-helpers"
	ch, err := challenges.Load(dir)
	if err != nil {
		t.Fatal(err)
	}
	spec := grader.SandboxSpec(ch, 42)
	spec.AttemptID = "att-check-" + inst
	sb, err := m.Create(ctx, spec)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = m.Remove(context.Background(), sb.ID) })

	code, out, stderr := run(t, nil, "challenge", "check", dir, "--sandbox", sb.ID, "--sandbox-instance", inst)
	t.Log(out)
	if code != 1 || !strings.Contains(out, "lib-helpers against sandbox "+sb.ID[:12]+" (seed 42)\n") ||
		!strings.Contains(out, "  FAIL mode                       0/50  mode is 'broken', want 'fixed' (lib/conf.sh)\n") ||
		!strings.Contains(out, "  FAIL level ") || !strings.HasSuffix(out, "0/100 points, 0 of 2 check(s) passed\n") {
		t.Fatalf("unsolved: exit %d\n%s%s", code, out, stderr)
	}
	if res, err := m.Exec(ctx, sb.ID, []string{"bash", "-c", string(ch.SolutionScript())}, sandbox.ExecOptions{}); err != nil || res.ExitCode != 0 {
		t.Fatalf("solution: %v %+v", err, res)
	}
	code, out, stderr = run(t, nil, "challenge", "check", dir, "--attempt", spec.AttemptID, "--sandbox-instance", inst, "level")
	t.Log(out)
	if code != 0 || !strings.Contains(out, "  pass level                     50/50  level is info\n") ||
		strings.Contains(out, " mode ") || !strings.HasSuffix(out, "50/50 points, 1 of 1 check(s) passed\n") {
		t.Fatalf("solved, one check: exit %d\n%s%s", code, out, stderr)
	}
	if code, _, stderr = run(t, nil, "challenge", "check", dir, "--sandbox", sb.ID, "--sandbox-instance", inst, "nope"); code != 1 || !strings.Contains(stderr, `has no check "nope"; its checks: mode, level`) {
		t.Fatalf("unknown check: exit %d %s", code, stderr)
	}
	if res, err := m.Exec(ctx, sb.ID, []string{"true"}, sandbox.ExecOptions{}); err != nil || res.ExitCode != 0 {
		t.Fatalf("the sandbox does not run after challenge check: %v %+v", err, res)
	}
}

// TestChallengeNewDirIsTheChallenge: --dir X makes X the challenge's
// directory (not X/NAME), created with its parents; a non-empty X is
// refused without --force.
func TestChallengeNewDirIsTheChallenge(t *testing.T) {
	t.Parallel()
	dir := filepath.Join(t.TempDir(), "labs", "mine")
	if code, out, stderr := run(t, nil, "challenge", "new", "troubleshoot", "my-lab", "--dir", dir); code != 0 || !strings.Contains(out, "in "+dir+"\n") {
		t.Fatalf("new: %d %s %s", code, out, stderr)
	}
	if _, err := os.Stat(filepath.Join(dir, "challenge.yaml")); err != nil {
		t.Fatalf("no challenge.yaml in --dir: %v", err)
	}
	if _, err := os.Stat(filepath.Join(dir, "my-lab")); !os.IsNotExist(err) {
		t.Fatalf("DIR/NAME was created: %v", err)
	}
	if code, _, stderr := run(t, nil, "challenge", "new", "troubleshoot", "my-lab", "--dir", dir); code != 1 || !strings.Contains(stderr, dir+" exists and is not empty (use --force") {
		t.Fatalf("second new: %d %s", code, stderr)
	}
}

// TestCheckErrorsNameTheScript: bash's own errors in a check's output name
// the author's script (checks/typo.sh), not the probe's copy of it.
func TestCheckErrorsNameTheScript(t *testing.T) {
	t.Parallel()
	dc := sandboxtest.Client(t)
	sandboxtest.Image(t, dc)
	inst := sandboxtest.Instance(t, dc)
	ctx := sandboxtest.Context(t, 2*time.Minute)
	m, err := sandbox.NewManager(dc, sandbox.Config{Instance: inst, MaxPerOwner: -1}, slog.New(slog.DiscardHandler), time.Now)
	if err != nil {
		t.Fatal(err)
	}
	const dir = "testdata/authoring/script-error"
	ch, err := challenges.Load(dir)
	if err != nil {
		t.Fatal(err)
	}
	sb, err := m.Create(ctx, grader.SandboxSpec(ch, 1))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = m.Remove(context.Background(), sb.ID) })
	code, out, stderr := run(t, nil, "challenge", "check", dir, "--sandbox", sb.ID, "--sandbox-instance", inst)
	if code != 1 || !regexp.MustCompile(`(?m)^  FAIL typo +0/10  checks/typo.sh: line 2: no_such_helper: command not found$`).MatchString(out) {
		t.Fatalf("exit %d\n%s%s", code, out, stderr)
	}
}

// TestSelfTestSizedVolume: a challenge declares a sized volume; its setup
// fills it, the check measures that filesystem (its total is the declared
// size), the solution frees it and a no-op stays at 0.
func TestSelfTestSizedVolume(t *testing.T) {
	t.Parallel()
	sandboxtest.Image(t, sandboxtest.Client(t))
	code, out, stderr := run(t, nil, "challenge", "test", "-v", "testdata/authoring/disk-volume")
	t.Log(out)
	if code != 0 || !regexp.MustCompile(`FAIL space +0/100 /var/log/app: 8388608 of 8388608 bytes used\n`).MatchString(out) ||
		!regexp.MustCompile(`pass space +100/100 /var/log/app: \d+ of 8388608 bytes used\n`).MatchString(out) {
		t.Fatalf("exit %d\n%s%s", code, out, stderr)
	}
}
