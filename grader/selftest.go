package grader

import (
	"context"
	"fmt"
	"io"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/opsdojo/opsdojo/challenges"
	"github.com/opsdojo/opsdojo/sandbox"
)

// scriptTimeout bounds a solution or wrong-fix script in self-test.
const scriptTimeout = 3 * time.Minute

// Sandboxes to self-test in.
type SandboxRunner interface {
	Create(ctx context.Context, s sandbox.Spec) (*sandbox.Sandbox, error)
	Exec(ctx context.Context, id string, cmd []string, opts sandbox.ExecOptions) (sandbox.ExecResult, error)
	Remove(ctx context.Context, id string) error
}

// Hibernator hibernates and restores sandboxes (sandbox.Manager). When the
// SelfTester's runner has it, the solution of the first run is also graded
// after a hibernate and restore, which runs the challenge's on_resume.
type Hibernator interface {
	Hibernate(ctx context.Context, id string) error
	Restore(ctx context.Context, id string, s sandbox.Spec) (*sandbox.Sandbox, error)
	Discard(ctx context.Context, attemptID string) error
}

// RestoredScenario is the name of the scenario grading the solution's
// sandbox again after a hibernate and restore.
const RestoredScenario = "solution (restored)"

// SelfTester runs `challenge test`: in fresh real sandboxes, the untouched
// state and every wrong fix must not reach full marks, the solution must,
// and (once per challenge, when the runner can hibernate) the solution's
// sandbox must still reach full marks after it was hibernated and restored:
// an idle practice sandbox is, and only the challenge's on_resume brings
// back the services the candidate had running.
type SelfTester struct {
	sb          SandboxRunner
	g           *Grader
	concurrency int
}

// NewSelfTester returns a SelfTester running up to concurrency scenarios
// at once.
func NewSelfTester(sb SandboxRunner, g *Grader, concurrency int) *SelfTester {
	if concurrency < 1 {
		concurrency = 1
	}
	return &SelfTester{sb: sb, g: g, concurrency: concurrency}
}

// Scenario is one state graded in self-test.
type Scenario struct {
	Name      string // "unsolved", "solution", "wrong: <path>"
	WantFull  bool
	Run       int
	Score     int
	MaxScore  int
	Passed    []string          // check ids that passed
	Failed    map[string]string // check id → message, for checks that did not pass
	Err       string            // the scenario could not run (setup or script failed)
	OK        bool
	Duration  time.Duration
	ScriptOut string
	// Checks are the grading's results in spec order (message and output
	// of each check), for `challenge test -v` and failure reports.
	Checks []CheckResult
	// ExpectFailed and ExpectScore are a wrong fix's declared expectations
	// (wrong_fixes[].expect_failed, expect_score); Mismatches says which
	// were not met.
	ExpectFailed []string
	ExpectScore  *int
	Mismatches   []string
}

// SelfTestReport is the whole self-test of one challenge.
type SelfTestReport struct {
	Challenge string
	Version   string
	Runs      int
	Scenarios []Scenario
	Flaky     []string // "scenario: check — run N failed: message" whose outcome changed between runs
	Duration  time.Duration
}

// OK reports whether every scenario met its expectation and nothing was flaky.
func (r SelfTestReport) OK() bool {
	for _, s := range r.Scenarios {
		if !s.OK {
			return false
		}
	}
	return len(r.Flaky) == 0
}

// Test self-tests ch runs times.
func (st *SelfTester) Test(ctx context.Context, ch *challenges.Challenge, runs int) SelfTestReport {
	start := time.Now()
	if runs < 1 {
		runs = 1
	}
	type job struct {
		name     string
		script   []byte
		wantFull bool
		run      int
		restore  bool
		expect   *challenges.WrongFix
	}
	var jobs []job
	for run := 1; run <= runs; run++ {
		jobs = append(jobs, job{"unsolved", nil, false, run, false, nil})
		for _, w := range ch.WrongFixes {
			jobs = append(jobs, job{"wrong: " + w.Script, ch.File(w.Script), false, run, false, &w})
		}
		_, canRestore := st.sb.(Hibernator)
		jobs = append(jobs, job{"solution", ch.SolutionScript(), true, run, canRestore && run == 1, nil})
	}
	out := make([]Scenario, len(jobs))
	restored := make([]*Scenario, len(jobs))
	sem := make(chan struct{}, st.concurrency)
	var wg sync.WaitGroup
	for i, j := range jobs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			sem <- struct{}{}
			defer func() { <-sem }()
			seed := int64(1000*j.run + i) // a different seed each run, as candidates get
			out[i], restored[i] = st.scenario(ctx, ch, j.name, j.script, j.wantFull, j.run, seed, j.restore, j.expect)
		}()
	}
	wg.Wait()
	for _, r := range restored {
		if r != nil {
			out = append(out, *r)
		}
	}
	rep := SelfTestReport{Challenge: ch.ID, Version: ch.Version, Runs: runs, Scenarios: out, Duration: time.Since(start)}
	rep.Flaky = flakyChecks(ch, out)
	return rep
}

// flakyChecks lists the checks whose outcome for one scenario changed
// between runs, each with the runs that failed it and why.
func flakyChecks(ch *challenges.Challenge, out []Scenario) []string {
	// A check is flaky when the same scenario passes it in one run and not another.
	var flaky []string
	outcomes := map[string]map[string]map[bool]bool{}
	for _, s := range out {
		if s.Err != "" {
			continue
		}
		if outcomes[s.Name] == nil {
			outcomes[s.Name] = map[string]map[bool]bool{}
		}
		passed := map[string]bool{}
		for _, id := range s.Passed {
			passed[id] = true
		}
		for _, c := range ch.Checks {
			if outcomes[s.Name][c.ID] == nil {
				outcomes[s.Name][c.ID] = map[bool]bool{}
			}
			outcomes[s.Name][c.ID][passed[c.ID]] = true
		}
	}
	for name, checks := range outcomes {
		for id, seen := range checks {
			if len(seen) > 1 {
				flaky = append(flaky, name+": "+id+failedRuns(out, name, id))
			}
		}
	}
	sort.Strings(flaky)
	return flaky
}

// failedRuns names the runs in which scenario name failed check id, with
// the check's message, so a flaky check can be diagnosed from the report.
func failedRuns(out []Scenario, name, id string) string {
	var parts []string
	for _, s := range out {
		if s.Name != name || s.Err != "" {
			continue
		}
		if msg, failed := s.Failed[id]; failed {
			parts = append(parts, fmt.Sprintf("run %d failed: %s", s.Run, msg))
		}
	}
	if len(parts) == 0 {
		return ""
	}
	return " — " + strings.Join(parts, "; ")
}

// scenario runs one scenario in a fresh sandbox. With restore, a scenario
// that met its expectation is followed by the same sandbox hibernated,
// restored (running on_resume) and graded again: the second result.
func (st *SelfTester) scenario(ctx context.Context, ch *challenges.Challenge, name string, script []byte, wantFull bool, run int, seed int64, restore bool, expect *challenges.WrongFix) (s Scenario, restored *Scenario) {
	start := time.Now()
	s = Scenario{Name: name, WantFull: wantFull, Run: run, MaxScore: ch.TotalPoints()}
	if expect != nil {
		s.ExpectFailed, s.ExpectScore = expect.ExpectFailed, expect.ExpectScore
	}
	defer func() { s.Duration = time.Since(start) }()
	spec := SandboxSpec(ch, seed)
	spec.OwnerID = "selftest"
	spec.AttemptID = fmt.Sprintf("selftest-%s-%d", ch.ID, seed)
	spec.OnResume = ch.ResumeScript()
	sb, err := st.sb.Create(ctx, spec)
	if err != nil {
		s.Err = "sandbox: " + err.Error()
		return s, nil
	}
	id := sb.ID
	defer func() {
		cctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 30*time.Second)
		defer cancel()
		_ = st.sb.Remove(cctx, id)
		if h, ok := st.sb.(Hibernator); ok && restore {
			_ = h.Discard(cctx, spec.AttemptID)
		}
	}()
	env := ch.Env(seed)
	if script != nil {
		envList := make([]string, 0, len(env))
		for k, v := range env {
			envList = append(envList, k+"="+v)
		}
		// The script runs as the candidate would: the sandbox's user, with
		// its capabilities, so a solution cannot rely on powers the
		// candidate does not have.
		res, err := st.sb.Exec(ctx, id, []string{"bash", "-s"}, sandbox.ExecOptions{Env: envList, Stdin: strings.NewReader(string(script)), Timeout: scriptTimeout})
		s.ScriptOut = strings.TrimSpace(string(res.Stdout) + string(res.Stderr))
		if err != nil || res.ExitCode != 0 {
			s.Err = fmt.Sprintf("the script exited with status %d: %s", res.ExitCode, lastLines(s.ScriptOut, 5))
			if err != nil {
				s.Err = "the script could not run: " + err.Error()
			}
			// A wrong fix that fails to run still must not reach full marks:
			// grade anyway. A failing solution is an error in itself.
			if wantFull {
				return s, nil
			}
			s.Err = ""
		}
	}
	st.grade(ctx, ch, seed, id, &s)
	if !restore || !s.OK {
		return s, nil
	}
	h := st.sb.(Hibernator)
	rstart := time.Now()
	r := Scenario{Name: RestoredScenario, WantFull: wantFull, Run: run, MaxScore: ch.TotalPoints()}
	defer func() { r.Duration = time.Since(rstart) }()
	if err := h.Hibernate(ctx, id); err != nil {
		r.Err = "hibernate: " + err.Error()
		return s, &r
	}
	rsb, err := h.Restore(ctx, id, spec)
	if err != nil {
		r.Err = "restore: " + err.Error()
		return s, &r
	}
	id = rsb.ID
	st.grade(ctx, ch, seed, id, &r)
	return s, &r
}

// grade grades sandbox id into s.
func (st *SelfTester) grade(ctx context.Context, ch *challenges.Challenge, seed int64, id string, s *Scenario) {
	res, err := st.g.Grade(ctx, ch, TargetFor(ch, seed, id))
	if err != nil {
		s.Err = "grading: " + err.Error()
		return
	}
	s.Score = res.Score
	s.Checks = res.Checks
	for _, c := range res.Checks {
		if c.Passed {
			s.Passed = append(s.Passed, c.ID)
			continue
		}
		if s.Failed == nil {
			s.Failed = map[string]string{}
		}
		s.Failed[c.ID] = c.Message
	}
	s.OK = res.FullMarks() == s.WantFull
	s.Mismatches = expectationMismatches(*s)
	if len(s.Mismatches) > 0 {
		s.OK = false
	}
}

// expectationMismatches lists a wrong fix's declared expectations that its
// grading did not meet.
func expectationMismatches(s Scenario) []string {
	var out []string
	if s.ExpectScore != nil && s.Score != *s.ExpectScore {
		out = append(out, fmt.Sprintf("expected score %d, got %d", *s.ExpectScore, s.Score))
	}
	for _, id := range s.ExpectFailed {
		if _, failed := s.Failed[id]; !failed {
			out = append(out, fmt.Sprintf("expected %s to fail, it passed", id))
		}
	}
	return out
}

// ReportOptions say how much WriteReportWith prints.
type ReportOptions struct {
	// Checks prints every check's result (message and output) under every
	// scenario; without it they are printed only under scenarios that did
	// not meet their expectation.
	Checks bool
}

// WriteReport prints a self-test report for people, with the checks of
// the scenarios that failed.
func WriteReport(w io.Writer, r SelfTestReport, ch *challenges.Challenge) {
	WriteReportWith(w, r, ch, ReportOptions{})
}

// WriteReportWith prints a self-test report; every line ends with a newline.
func WriteReportWith(w io.Writer, r SelfTestReport, ch *challenges.Challenge, opts ReportOptions) {
	status := "PASS"
	if !r.OK() {
		status = "FAIL"
	}
	fmt.Fprintf(w, "%s %s (version %.12s, %d run(s), %s)\n", status, r.Challenge, r.Version, r.Runs, r.Duration.Round(10*time.Millisecond))
	for _, s := range r.Scenarios {
		mark := "ok  "
		if !s.OK {
			mark = "FAIL"
		}
		line := fmt.Sprintf("  %s run %d %-28s %3d/%-3d %s", mark, s.Run, s.Name, s.Score, s.MaxScore, expectation(s))
		switch {
		case s.Err != "":
			line += " — " + s.Err
		case len(s.Mismatches) > 0:
			line += " — " + strings.Join(s.Mismatches, "; ")
		case !s.OK && s.WantFull:
			var missing []string
			for _, c := range ch.Checks {
				if !contains(s.Passed, c.ID) {
					missing = append(missing, c.ID)
				}
			}
			line += " — failed checks: " + strings.Join(missing, ", ")
		case !s.OK:
			line += " — every check passed: add a check this mistake fails"
		}
		fmt.Fprintln(w, line+fmt.Sprintf(" (%s)", s.Duration.Round(10*time.Millisecond)))
		if opts.Checks || !s.OK {
			WriteChecks(w, s.Checks, "      ")
		}
	}
	for _, f := range r.Flaky {
		fmt.Fprintf(w, "  FLAKY %s\n", f)
	}
}

// expectation says what a scenario must score.
func expectation(s Scenario) string {
	if s.WantFull {
		return "must reach full marks"
	}
	want := "must not reach full marks"
	if s.ExpectScore != nil {
		want = fmt.Sprintf("must score %d", *s.ExpectScore)
	}
	if len(s.ExpectFailed) > 0 {
		want += ", fail " + strings.Join(s.ExpectFailed, ", ")
	}
	return want
}

// maxReportOutputLines caps the output lines printed per check.
const maxReportOutputLines = 15

// WriteChecks prints one line per check result (pass/FAIL, id, points,
// message) and, indented below it, the check's output when it says more
// than the message. Every line starts with indent and ends with a newline.
func WriteChecks(w io.Writer, checks []CheckResult, indent string) {
	for _, c := range checks {
		mark := "pass"
		switch {
		case c.NotRun:
			mark = "ERR "
		case c.TimedOut:
			mark = "TIME"
		case !c.Passed:
			mark = "FAIL"
		}
		msg := strings.Split(strings.TrimSpace(c.Message), "\n")
		fmt.Fprintf(w, "%s%s %-24s %3d/%-3d %s\n", indent, mark, c.ID, c.Points, c.MaxPoints, msg[0])
		for _, l := range msg[1:] {
			fmt.Fprintf(w, "%s     %s\n", indent, l)
		}
		out := strings.TrimSpace(c.Output)
		if out == "" || out == strings.TrimSpace(c.Message) || c.Type == challenges.CheckScript {
			continue // a script's message is its output already
		}
		lines := strings.Split(out, "\n")
		if len(lines) > maxReportOutputLines {
			lines = append(lines[:maxReportOutputLines], fmt.Sprintf("… %d more lines", len(lines)-maxReportOutputLines))
		}
		for _, l := range lines {
			fmt.Fprintf(w, "%s     | %s\n", indent, l)
		}
	}
}

func contains(xs []string, x string) bool {
	for _, v := range xs {
		if v == x {
			return true
		}
	}
	return false
}
