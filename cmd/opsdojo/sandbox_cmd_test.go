package main

import (
	"strings"
	"testing"

	"github.com/opsdojo/opsdojo/sandbox/sandboxtest"
)

func TestSandboxExecCLI(t *testing.T) {
	t.Parallel()
	cli := sandboxtest.Client(t)
	img := sandboxtest.Image(t, cli)
	cases := []struct {
		name     string
		args     []string
		wantCode int
		wantOut  string
	}{
		{"image, exit code passed through", []string{"sandbox", "exec", img, "--", "bash", "-c", "echo hi; exit 7"}, 7, "hi"},
		{"runs as the candidate", []string{"sandbox", "exec", img, "--", "id", "-un"}, 0, "candidate"},
		{"challenge dir: setup applied, its user", []string{"sandbox", "exec", "../../grader/testdata/web-perms", "--", "bash", "-c", "id -un; cat /srv/www/index.html"}, 0, "root\nunder maintenance"},
		{"challenge starter files copied", []string{"sandbox", "exec", "testdata/challenges/edit-config", "--", "cat", "/workspace/app.conf"}, 0, "port = 80"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			code, out, stderr := run(t, nil, tc.args...)
			if code != tc.wantCode || !strings.Contains(out, tc.wantOut) {
				t.Fatalf("exit %d (want %d), stdout %q (want %q), stderr %s", code, tc.wantCode, out, tc.wantOut, stderr)
			}
		})
	}
	if code, _, stderr := run(t, nil, "sandbox", "exec", "testdata/broken", "--", "true"); code == 0 || !strings.Contains(stderr, "sandbox") {
		t.Fatalf("a missing image/challenge must fail clearly: %d %s", code, stderr)
	}
}
