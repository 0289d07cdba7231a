package pipeline

import (
	"context"
	"errors"
	"io"
	"strings"
	"testing"
)

func repoOf(files map[string]string) *Repo {
	r := &Repo{Name: "app", Files: map[string]RepoFile{}}
	for p, c := range files {
		r.Files[p] = RepoFile{Mode: 0o644, Content: []byte(c)}
	}
	return r
}

func TestLoadRefusesUnknownActionAtLineCol(t *testing.T) {
	t.Parallel()
	wf := "on: push\njobs:\n  build:\n    runs-on: ubuntu-latest\n    steps:\n      - uses: actions/checkout@v4\n      - uses: docker/build-push-action@v6\n"
	_, err := Load(repoOf(map[string]string{".github/workflows/ci.yml": wf}))
	var inv *InvalidError
	if !errors.As(err, &inv) {
		t.Fatalf("Load: got %v, want an InvalidError", err)
	}
	if len(inv.Problems) != 1 {
		t.Fatalf("problems: %v", inv.Problems)
	}
	p := inv.Problems[0]
	if p.File != ".github/workflows/ci.yml" || p.Line != 7 || p.Col != 15 || !strings.Contains(p.Message, "docker/build-push-action@v6") {
		t.Errorf("problem = %+v, want ci.yml:7:15 naming docker/build-push-action@v6", p)
	}
}

func TestLoadReportsActionlintErrors(t *testing.T) {
	t.Parallel()
	cases := map[string]struct {
		wf       string
		line     int
		contains string
	}{
		"unknown need":   {"on: push\njobs:\n  a:\n    runs-on: ubuntu-latest\n    needs: [nope]\n    steps:\n      - run: true\n", 3, "nope"},
		"bad expression": {"on: push\njobs:\n  a:\n    runs-on: ubuntu-latest\n    steps:\n      - run: echo ${{ matrix.x. }}\n", 6, ""},
		"yaml syntax":    {"on: push\njobs:\n  a:\n    runs-on: [ubuntu-latest\n", 0, ""},
		"cycle":          {"on: push\njobs:\n  a:\n    runs-on: ubuntu-latest\n    needs: b\n    steps: [{run: 'true'}]\n  b:\n    runs-on: ubuntu-latest\n    needs: a\n    steps: [{run: 'true'}]\n", 0, "cycl"},
		"job container":  {"on: push\njobs:\n  a:\n    runs-on: ubuntu-latest\n    container: node:20\n    steps: [{run: 'true'}]\n", 3, "container"},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			_, err := Load(repoOf(map[string]string{".github/workflows/ci.yaml": tc.wf}))
			var inv *InvalidError
			if !errors.As(err, &inv) || len(inv.Problems) == 0 {
				t.Fatalf("Load: got %v, want an InvalidError", err)
			}
			p := inv.Problems[0]
			if p.Line < 1 || p.Col < 1 || (tc.line > 0 && p.Line != tc.line) {
				t.Errorf("problem %+v: want line %d", p, tc.line)
			}
			if tc.contains != "" && !strings.Contains(strings.ToLower(inv.Error()), tc.contains) {
				t.Errorf("error %q does not mention %q", inv.Error(), tc.contains)
			}
		})
	}
}

func TestLoadOrdersJobsByNeeds(t *testing.T) {
	t.Parallel()
	wf := `on: push
jobs:
  package:
    runs-on: ubuntu-latest
    needs: [test]
    steps: [{run: 'true'}]
  test:
    runs-on: ubuntu-latest
    needs: lint
    steps: [{run: 'true'}]
  lint:
    runs-on: ubuntu-latest
    steps: [{run: 'true'}]
`
	wfs, err := Load(repoOf(map[string]string{".github/workflows/ci.yml": wf}))
	if err != nil {
		t.Fatal(err)
	}
	if got := strings.Join(wfs[0].Order, ","); got != "lint,test,package" {
		t.Errorf("order = %s", got)
	}
	if !wfs[0].DependsOn("package", "lint") || wfs[0].DependsOn("lint", "package") {
		t.Error("DependsOn is not transitive over needs")
	}
}

func TestLoadNeedsAWorkflow(t *testing.T) {
	t.Parallel()
	if _, err := Load(repoOf(map[string]string{"main.go": "package main"})); err == nil || !strings.Contains(err.Error(), WorkflowDir) {
		t.Fatalf("Load without workflows: %v", err)
	}
}

func TestParseKV(t *testing.T) {
	t.Parallel()
	got := parseKV("a=1\nmulti<<EOF\nx\ny\nEOF\nb=two=2\n")
	if got["a"] != "1" || got["multi"] != "x\ny" || got["b"] != "two=2" {
		t.Errorf("parseKV = %q", got)
	}
}

func TestGlobRegexp(t *testing.T) {
	t.Parallel()
	re, _ := globRegexp("**/go.sum")
	if !re.MatchString("go.sum") || !re.MatchString("a/b/go.sum") || re.MatchString("go.sum.bak") {
		t.Error("**/go.sum")
	}
}

// failingBackend creates containers but cannot copy into them.
type failingBackend struct {
	countingBackend
	removed *[]string
}

func (failingBackend) CopyIn(context.Context, string, string, io.Reader) error {
	return errors.New("daemon gone")
}
func (f failingBackend) Remove(_ context.Context, id string) error {
	*f.removed = append(*f.removed, id)
	return nil
}

// TestJobContainerFailureIsAnError: a job container that cannot be
// prepared stops the run with an error (not a workflow failure) and is
// removed.
func TestJobContainerFailureIsAnError(t *testing.T) {
	t.Parallel()
	created := 0
	var removed []string
	r := New(failingBackend{countingBackend{&created}, &removed}, Options{}, nil)
	wf := "on: push\njobs:\n  a:\n    runs-on: ubuntu-latest\n    steps:\n      - run: echo hi\n"
	_, err := r.Run(context.Background(), repoOf(map[string]string{".github/workflows/ci.yml": wf}))
	if err == nil || !strings.Contains(err.Error(), "daemon gone") {
		t.Fatalf("Run: %v, want the copy error", err)
	}
	if created != 1 || len(removed) != 1 {
		t.Errorf("created %d, removed %v", created, removed)
	}
}
