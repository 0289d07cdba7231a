package grader

import (
	"fmt"
	"reflect"
	"strings"
	"testing"

	"github.com/opsdojo/opsdojo/challenges"
)

func TestFlakyChecks(t *testing.T) {
	ch := &challenges.Challenge{Spec: challenges.Spec{Checks: []challenges.Check{{ID: "serves"}, {ID: "rules"}}}}
	sc := func(name string, run int, passed []string, failed map[string]string) Scenario {
		return Scenario{Name: name, Run: run, Passed: passed, Failed: failed}
	}
	tests := []struct {
		name string
		out  []Scenario
		want []string
	}{
		{"stable outcomes are not flaky", []Scenario{
			sc("solution", 1, []string{"serves", "rules"}, nil),
			sc("solution", 2, []string{"serves", "rules"}, nil),
			sc("unsolved", 1, nil, map[string]string{"serves": "no answer", "rules": "DF001"}),
			sc("unsolved", 2, nil, map[string]string{"serves": "no answer", "rules": "DF001"}),
		}, nil},
		{"a check that changes names the failing run and its message", []Scenario{
			sc("wrong: a.sh", 1, []string{"serves"}, map[string]string{"rules": "DF001"}),
			sc("wrong: a.sh", 2, []string{"serves"}, map[string]string{"rules": "DF001"}),
			sc("wrong: a.sh", 3, nil, map[string]string{"serves": "No such image", "rules": "DF001"}),
		}, []string{"wrong: a.sh: serves — run 3 failed: No such image"}},
		{"scenarios that could not run are ignored", []Scenario{
			sc("solution", 1, []string{"serves", "rules"}, nil),
			{Name: "solution", Run: 2, Err: "sandbox: capacity reached"},
		}, nil},
		{"several flaky checks are sorted", []Scenario{
			sc("solution", 1, []string{"serves"}, map[string]string{"rules": "x"}),
			sc("solution", 2, []string{"rules"}, map[string]string{"serves": "y"}),
		}, []string{"solution: rules — run 1 failed: x", "solution: serves — run 2 failed: y"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := flakyChecks(ch, tt.out); !reflect.DeepEqual(got, tt.want) {
				t.Errorf("flakyChecks = %q, want %q", got, tt.want)
			}
		})
	}
}

func TestExpectationMismatches(t *testing.T) {
	score := 40
	s := Scenario{Score: 60, ExpectScore: &score, ExpectFailed: []string{"a", "b"}, Failed: map[string]string{"b": "no"}}
	got := expectationMismatches(s)
	want := []string{"expected score 40, got 60", "expected a to fail, it passed"}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("got %q, want %q", got, want)
	}
	s = Scenario{Score: 40, ExpectScore: &score, ExpectFailed: []string{"b"}, Failed: map[string]string{"b": "no"}}
	if got := expectationMismatches(s); got != nil {
		t.Fatalf("met expectations reported %q", got)
	}
}

// TestWriteReportChecks: check lines are printed under a failed scenario
// (always) and under every scenario with Checks; a script's output is its
// message already, another check's output follows as "| " lines (capped);
// every line ends with a newline.
func TestWriteReportChecks(t *testing.T) {
	ch := &challenges.Challenge{Spec: challenges.Spec{Checks: []challenges.Check{{ID: "s"}, {ID: "h"}}}}
	long := strings.Repeat("line\n", maxReportOutputLines+5)
	checks := []CheckResult{
		{ID: "s", Type: challenges.CheckScript, Points: 0, MaxPoints: 30, Message: "mode is broken", Output: "mode is broken\n"},
		{ID: "h", Type: challenges.CheckHTTP, Passed: true, Points: 70, MaxPoints: 70, Message: "http://x answered 200 as expected", Output: long},
	}
	rep := SelfTestReport{Challenge: "c", Runs: 1, Scenarios: []Scenario{
		{Name: "unsolved", Run: 1, Score: 70, MaxScore: 100, OK: true, Checks: checks},
		{Name: "solution", Run: 1, WantFull: true, Score: 70, MaxScore: 100, Passed: []string{"h"}, Checks: checks},
	}}
	var quiet, loud strings.Builder
	WriteReport(&quiet, rep, ch)
	WriteReportWith(&loud, rep, ch, ReportOptions{Checks: true})
	if n := strings.Count(quiet.String(), "FAIL s "); n != 1 {
		t.Errorf("without Checks the check lines appear %d times, want once (under the failed scenario):\n%s", n, quiet.String())
	}
	if n := strings.Count(loud.String(), "FAIL s "); n != 2 {
		t.Errorf("with Checks the check lines appear %d times, want 2:\n%s", n, loud.String())
	}
	out := quiet.String()
	for _, want := range []string{
		"  FAIL run 1 solution                      70/100 must reach full marks — failed checks: s (0s)\n",
		"      FAIL s                          0/30  mode is broken\n",
		"      pass h                         70/70  http://x answered 200 as expected\n           | line\n",
		fmt.Sprintf("           | … %d more lines\n", 5),
	} {
		if !strings.Contains(out, want) {
			t.Errorf("report lacks %q:\n%s", want, out)
		}
	}
	if strings.Contains(out, "| mode is broken") {
		t.Errorf("a script's output is repeated below its message:\n%s", out)
	}
	if !strings.HasSuffix(out, "\n") {
		t.Errorf("report does not end with a newline")
	}
}
