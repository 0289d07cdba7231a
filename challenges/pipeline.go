package challenges

import (
	"path"
	"strings"
	"time"
)

// Pipeline check limits.
const (
	DefaultPipelineTimeout = 10 * time.Minute // the whole check: the candidate's run plus one run per mutation
	MaxPipelineTimeout     = 30 * time.Minute
)

// maxCheckTimeout is the timeout limit of a check's type.
func maxCheckTimeout(c *Check) time.Duration {
	if c.Pipeline != nil {
		return MaxPipelineTimeout
	}
	return MaxCheckTimeout
}

// PipelineCheck runs the GitHub Actions workflows of a repository in the
// sandbox with the offline runner (package pipeline): they must pass on
// the candidate's repository and FAIL on each mutated copy, so a workflow
// that runs nothing (or always succeeds) cannot pass.
type PipelineCheck struct {
	Repo      string             `yaml:"repo" jsonschema:"required,pattern=^/" jsonschema_description:"repository directory in the sandbox (holds .github/workflows)"`
	Mutations []PipelineMutation `yaml:"mutations,omitempty" jsonschema_description:"changes applied to a copy of the repository under which the workflow must fail (a failing test, a lint error, a broken build…)"`
	Artifacts []PipelineArtifact `yaml:"artifacts,omitempty" jsonschema_description:"artifacts the passing run must upload (actions/upload-artifact)"`
	Order     []PipelineOrder    `yaml:"order,omitempty" jsonschema_description:"jobs that must run only after others (by needs, transitively)"`
}

// PipelineMutation is one declared breakage.
type PipelineMutation struct {
	Name   string            `yaml:"name" jsonschema:"required,minLength=1" jsonschema_description:"shown in the feedback, e.g. a failing unit test"`
	Files  map[string]string `yaml:"files,omitempty" jsonschema_description:"repository path -> file in the challenge dir whose content replaces (or adds) it"`
	Delete []string          `yaml:"delete,omitempty" jsonschema_description:"repository paths removed from the copy"`
	Script string            `yaml:"script,omitempty" jsonschema_description:"bash script in the challenge dir, run as the runner user in the copy before each job"`
}

// PipelineArtifact asserts an uploaded artifact.
type PipelineArtifact struct {
	Name     string `yaml:"name" jsonschema:"required,minLength=1" jsonschema_description:"artifact name (upload-artifact's name)"`
	Path     string `yaml:"path,omitempty" jsonschema_description:"file inside the artifact that must exist"`
	Contains string `yaml:"contains,omitempty" jsonschema_description:"substring the file must contain (needs path)"`
}

// PipelineOrder: Job must (transitively) need each of After.
type PipelineOrder struct {
	Job   string   `yaml:"job" jsonschema:"required,minLength=1"`
	After []string `yaml:"after" jsonschema:"required,minItems=1"`
}

func (l *loader) validatePipelineCheck(p string, c *PipelineCheck) {
	if l.required(join(p, "repo"), "the repository directory in the sandbox is required") {
		l.sandboxPath(join(p, "repo"), c.Repo)
	}
	for i, m := range c.Mutations {
		mp := index(join(p, "mutations"), i)
		if strings.TrimSpace(m.Name) == "" {
			l.errf(join(mp, "name"), "a name shown in the feedback is required")
		}
		if len(m.Files) == 0 && len(m.Delete) == 0 && m.Script == "" {
			l.errf(mp, "a mutation needs files, delete or script")
		}
		for dst, src := range m.Files {
			if !repoPathOK(dst) {
				l.errf(join(join(mp, "files"), dst), "must be a relative path inside the repository, got %q", dst)
			}
			l.ref(join(join(mp, "files"), dst), src)
		}
		for j, d := range m.Delete {
			if !repoPathOK(d) {
				l.errf(index(join(mp, "delete"), j), "must be a relative path inside the repository, got %q", d)
			}
		}
		if m.Script != "" {
			l.ref(join(mp, "script"), m.Script)
		}
	}
	for i, a := range c.Artifacts {
		if a.Contains != "" && a.Path == "" {
			l.errf(join(index(join(p, "artifacts"), i), "contains"), "needs path: the file inside the artifact")
		}
	}
	for i, o := range c.Order {
		if len(o.After) == 0 {
			l.errf(join(index(join(p, "order"), i), "after"), "must list at least one job")
		}
	}
}

func repoPathOK(p string) bool {
	c := path.Clean(p)
	return p != "" && !path.IsAbs(p) && c != ".." && !strings.HasPrefix(c, "../")
}

// pipelineScaffold is `challenge new --kind pipeline`: a Python repository
// whose placeholder workflow succeeds without testing anything; the check
// requires the workflow to fail on a failing test.
var pipelineScaffold = map[string]string{
	"challenge.yaml": `
# yaml-language-server: $schema={{SCHEMA}}
id: {{ID}}
title: "Make CI run the tests"
kind: pipeline
difficulty: easy
time_limit: 20m
description: |
  ¦.github/workflows/ci.yml¦ in ¦/workspace/app¦ succeeds without testing
  anything. Make it run the tests (¦python3 -m pytest -q¦) on every push.
sandbox:
  image: opsdojo/runner
  network: none
files:
  - path: /workspace/app/.github/workflows/ci.yml
    starter: starter/ci.yml
    language: yaml
  - path: /workspace/app/test_app.py
    starter: starter/test_app.py
checks:
  - id: ci-runs-tests
    title: the workflow passes, and fails when a test fails
    type: pipeline
    repo: /workspace/app
    points: 100
    mutations:
      - name: a failing test
        files: {test_broken.py: mutations/test_broken.py}
solution: solution.sh
wrong_fixes: [wrong/always-green.sh]
`,
	"starter/ci.yml": `
name: ci
on: [push]
jobs:
  test:
    runs-on: ubuntu-latest
    steps:
      - run: echo "TODO: run the tests"
`,
	"starter/test_app.py": `
def test_ok():
    assert 1 + 1 == 2
`,
	"mutations/test_broken.py": `
def test_broken():
    assert False
`,
	"solution.sh": `
#!/bin/bash
set -euo pipefail
cat > /workspace/app/.github/workflows/ci.yml <<'YAML'
name: ci
on: [push]
jobs:
  test:
    runs-on: ubuntu-latest
    steps:
      - uses: actions/checkout@v4
      - run: python3 -m pytest -q
YAML
`,
	"wrong/always-green.sh": `
#!/bin/bash
set -euo pipefail
cat > /workspace/app/.github/workflows/ci.yml <<'YAML'
name: ci
on: [push]
jobs:
  test:
    runs-on: ubuntu-latest
    steps:
      - uses: actions/checkout@v4
      - run: python3 -m pytest -q || true
YAML
`,
}
