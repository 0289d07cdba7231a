package challenges

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestHTTPURLMayUseSeedVariables: a seeded port in an http check's URL
// lints (the grader expands it per attempt), a malformed URL still does not.
func TestHTTPURLMayUseSeedVariables(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		url  string
		fail bool
	}{
		{"http://localhost:${APP_PORT}/healthz", false},
		{"http://${HOST}:8080/", false},
		{"ftp://localhost:${APP_PORT}/", true},
		{"localhost:${APP_PORT}", true},
	} {
		dir := t.TempDir()
		yaml := `id: seeded-url
title: Seeded URL
kind: troubleshoot
difficulty: easy
time_limit: 5m
description: test
sandbox:
  image: opsdojo/shell
  setup: setup.sh
seed:
  vars: [{name: APP_PORT, kind: port}, {name: HOST, kind: word, words: [localhost]}]
checks:
  - id: up
    title: up
    type: http
    url: "` + tc.url + `"
    points: 10
hints: [{text: none}]
solution: setup.sh
`
		_ = os.WriteFile(filepath.Join(dir, SpecFile), []byte(yaml), 0o644)
		_ = os.WriteFile(filepath.Join(dir, "setup.sh"), []byte("#!/bin/bash\ntrue\n"), 0o755)
		_, err := Load(dir)
		if (err != nil) != tc.fail {
			t.Errorf("url %q: err = %v, want failure %v", tc.url, err, tc.fail)
		}
		if err != nil && !strings.Contains(err.Error(), "url") {
			t.Errorf("url %q: error does not name the field: %v", tc.url, err)
		}
	}
}
