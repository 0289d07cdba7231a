package pipeline

import (
	"fmt"
	"io"
	"slices"
	"strings"

	"github.com/rhysd/actionlint"
)

// Problem is one thing wrong with a workflow file, at a 1-based line and
// column.
type Problem struct {
	File    string `json:"file"`
	Line    int    `json:"line"`
	Col     int    `json:"col"`
	Rule    string `json:"rule"`
	Message string `json:"message"`
}

func (p Problem) String() string {
	return fmt.Sprintf("%s:%d:%d: %s [%s]", p.File, p.Line, p.Col, p.Message, p.Rule)
}

// InvalidError is returned by Load (and so by Run) when a workflow has
// problems: nothing runs.
type InvalidError struct {
	Problems []Problem
}

func (e *InvalidError) Error() string {
	lines := make([]string, 0, len(e.Problems))
	for _, p := range e.Problems {
		lines = append(lines, p.String())
	}
	return "invalid workflow:\n" + strings.Join(lines, "\n")
}

// Supported actions: any other `uses:` is refused before the run with its
// position. Each is implemented offline by the runner (actions.go).
var supportedActions = []string{
	"actions/checkout", "actions/setup-go", "actions/setup-python", "actions/setup-node",
	"actions/cache", "actions/upload-artifact", "actions/download-artifact",
}

// SupportedActions lists the actions a workflow may use.
func SupportedActions() []string { return slices.Clone(supportedActions) }

// actionName returns "owner/repo" of a uses: reference, lower case.
func actionName(uses string) string {
	name, _, _ := strings.Cut(uses, "@")
	return strings.ToLower(strings.TrimSpace(name))
}

// Lint checks one workflow file with actionlint (syntax, expressions, job
// graph, known action inputs; shellcheck and pyflakes are not run: they are
// not part of the server) and then with the runner's own rules: only the
// supported actions, no job containers, services or reusable workflows.
// name is reported as the file of each problem.
func Lint(name string, content []byte) []Problem {
	var probs []Problem
	l, err := actionlint.NewLinter(io.Discard, &actionlint.LinterOptions{})
	if err != nil {
		return []Problem{{File: name, Line: 1, Col: 1, Rule: "internal", Message: "actionlint: " + err.Error()}}
	}
	errs, err := l.Lint("<stdin>", content, nil)
	if err != nil {
		return []Problem{{File: name, Line: 1, Col: 1, Rule: "internal", Message: "actionlint: " + err.Error()}}
	}
	for _, e := range errs {
		probs = append(probs, Problem{File: name, Line: max(e.Line, 1), Col: max(e.Column, 1), Rule: e.Kind, Message: e.Message})
	}
	wf, _ := actionlint.Parse(content)
	if wf != nil {
		probs = append(probs, runnerRules(name, wf)...)
	}
	slices.SortStableFunc(probs, func(a, b Problem) int {
		if a.Line != b.Line {
			return a.Line - b.Line
		}
		return a.Col - b.Col
	})
	return probs
}

func runnerRules(name string, wf *actionlint.Workflow) []Problem {
	var probs []Problem
	at := func(p *actionlint.Pos, rule, format string, args ...any) {
		line, col := 1, 1
		if p != nil {
			line, col = p.Line, p.Col
		}
		probs = append(probs, Problem{File: name, Line: line, Col: col, Rule: rule, Message: fmt.Sprintf(format, args...)})
	}
	for id, job := range wf.Jobs {
		if job == nil {
			continue
		}
		if job.WorkflowCall != nil {
			at(job.Pos, "opsdojo-runner", "job %q calls a reusable workflow: not supported by the offline runner", id)
		}
		if job.Container != nil {
			at(job.Pos, "opsdojo-runner", "job %q sets container: jobs run in the runner image only", id)
		}
		if job.Services != nil {
			at(job.Pos, "opsdojo-runner", "job %q sets services: service containers are not supported by the offline runner", id)
		}
		for _, st := range job.Steps {
			a, ok := st.Exec.(*actionlint.ExecAction)
			if !ok || a.Uses == nil {
				continue
			}
			uses := a.Uses.Value
			if !slices.Contains(supportedActions, actionName(uses)) {
				at(a.Uses.Pos, "opsdojo-runner", "uses: %q is not available offline (supported: %s)", uses, strings.Join(supportedActions, ", "))
			}
		}
	}
	return probs
}
