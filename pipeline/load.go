package pipeline

import (
	"bytes"
	"fmt"
	"maps"
	"path"
	"slices"
	"strings"

	"github.com/nektos/act/pkg/model"
)

// WorkflowDir is where workflows live in a repository.
const WorkflowDir = ".github/workflows"

// Workflow is one parsed, linted workflow file with its jobs in run order.
type Workflow struct {
	File  string // path in the repository, e.g. .github/workflows/ci.yml
	Name  string
	Order []string // job ids, every job after the jobs it needs
	m     *model.Workflow
}

// Needs returns the direct needs of a job.
func (w *Workflow) Needs(job string) []string {
	if j := w.m.GetJob(job); j != nil {
		return j.Needs()
	}
	return nil
}

// DependsOn reports whether job (transitively) needs dep.
func (w *Workflow) DependsOn(job, dep string) bool {
	seen := map[string]bool{}
	var walk func(string) bool
	walk = func(j string) bool {
		for _, n := range w.Needs(j) {
			if n == dep {
				return true
			}
			if !seen[n] {
				seen[n] = true
				if walk(n) {
					return true
				}
			}
		}
		return false
	}
	return walk(job)
}

// IsWorkflowFile reports whether p (slash path in a repository) is a
// workflow file.
func IsWorkflowFile(p string) bool {
	p = strings.TrimPrefix(path.Clean(p), "/")
	return path.Dir(p) == WorkflowDir && (strings.HasSuffix(p, ".yml") || strings.HasSuffix(p, ".yaml"))
}

// Load lints and parses every workflow of repo. Problems in any file make
// an *InvalidError listing them all at file:line:col; no workflow at all is
// an error too.
func Load(repo *Repo) ([]*Workflow, error) {
	var files []string
	for p := range repo.Files {
		if IsWorkflowFile(p) {
			files = append(files, p)
		}
	}
	slices.Sort(files)
	if len(files) == 0 {
		return nil, fmt.Errorf("pipeline: no workflow in %s (files ending in .yml or .yaml)", WorkflowDir)
	}
	var probs []Problem
	var wfs []*Workflow
	for _, f := range files {
		content := repo.Files[f].Content
		if p := Lint(f, content); len(p) > 0 {
			probs = append(probs, p...)
			continue
		}
		m, err := model.ReadWorkflow(bytes.NewReader(content), false)
		if err != nil {
			probs = append(probs, Problem{File: f, Line: 1, Col: 1, Rule: "syntax", Message: err.Error()})
			continue
		}
		m.File = f
		w := &Workflow{File: f, Name: m.Name, m: m}
		if w.Name == "" {
			w.Name = f
		}
		order, err := jobOrder(m)
		if err != nil {
			probs = append(probs, Problem{File: f, Line: 1, Col: 1, Rule: "job-needs", Message: err.Error()})
			continue
		}
		w.Order = order
		wfs = append(wfs, w)
	}
	if len(probs) > 0 {
		return nil, &InvalidError{Problems: probs}
	}
	return wfs, nil
}

// jobOrder sorts jobs so that each comes after what it needs, ties broken
// by id (deterministic).
func jobOrder(m *model.Workflow) ([]string, error) {
	ids := slices.Sorted(maps.Keys(m.Jobs))
	done := map[string]bool{}
	var order []string
	for len(order) < len(ids) {
		progress := false
		for _, id := range ids {
			if done[id] {
				continue
			}
			ready := true
			for _, n := range m.Jobs[id].Needs() {
				if _, ok := m.Jobs[n]; !ok {
					return nil, fmt.Errorf("job %q needs unknown job %q", id, n)
				}
				if !done[n] {
					ready = false
				}
			}
			if ready {
				done[id] = true
				order = append(order, id)
				progress = true
			}
		}
		if !progress {
			return nil, fmt.Errorf("the needs of the jobs form a cycle")
		}
	}
	return order, nil
}
