package grader

import (
	"reflect"
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
