package challenges

import (
	"path/filepath"
	"strings"
	"testing"
)

// TestResumeScript: sandbox.on_resume names a script in the challenge
// directory; Load reads it (it is part of the version) and ResumeScript
// returns it, nil when the challenge declares none.
func TestResumeScript(t *testing.T) {
	t.Parallel()
	dir := filepath.Join("testdata", "good", "all-check-types")
	c, err := Load(dir)
	if err != nil {
		t.Fatal(err)
	}
	if c.Sandbox.OnResume != "resume.sh" {
		t.Fatalf("on_resume = %q", c.Sandbox.OnResume)
	}
	if got := string(c.ResumeScript()); !strings.Contains(got, "restarts what setup started") {
		t.Fatalf("ResumeScript() = %q", got)
	}
	var none Challenge
	if got := none.ResumeScript(); got != nil {
		t.Fatalf("no on_resume: ResumeScript() = %q, want nil", got)
	}
}
