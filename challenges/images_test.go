package challenges

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestSandboxImageAllowed(t *testing.T) {
	t.Parallel()
	def := LoadOptions{}
	op := LoadOptions{AllowedImages: []string{"acme/lab:*", "registry.example/team/box:1"}}
	tests := []struct {
		ref     string
		opts    LoadOptions
		allowed bool
	}{
		{"opsdojo/shell", def, true},
		{"opsdojo/web:latest", def, true},
		{"docker.io/opsdojo/shell:latest", def, true},
		{"docker:dind", def, false},
		{"docker:dind", op, false},
		{"library/docker:dind", def, false},
		{"evil.example/opsdojo/shell", def, false},
		{"opsdojo/shell@sha256:0000000000000000000000000000000000000000000000000000000000000000", def, false},
		{"opsdojo/a/b", def, false},
		{"debian:bookworm-slim", def, false},
		{"OPSDOJO/shell", def, false},
		{"acme/lab:v2", op, true},
		{"acme/lab", op, true},
		{"acme/lab", def, false},
		{"registry.example/team/box:1", op, true},
		{"registry.example/team/box:2", op, false},
	}
	for _, tt := range tests {
		if got := tt.opts.SandboxImageAllowed(tt.ref); got != tt.allowed {
			t.Errorf("SandboxImageAllowed(%q) with %v = %v, want %v", tt.ref, tt.opts.AllowedImages, got, tt.allowed)
		}
	}
}

// TestSandboxImageAllowList: a challenge naming an image opsdojo does not
// build fails to load with the field and its line, unless the operator
// allows it; the catalog loads with the operator's list.
func TestSandboxImageAllowList(t *testing.T) {
	t.Parallel()
	src := filepath.Join("testdata", "good", "all-check-types")
	dir := t.TempDir()
	if err := os.CopyFS(dir, os.DirFS(src)); err != nil {
		t.Fatal(err)
	}
	yml := filepath.Join(dir, SpecFile)
	raw, err := os.ReadFile(yml)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(yml, []byte(strings.Replace(string(raw), "image: opsdojo/shell", "image: docker:dind", 1)), 0o644); err != nil {
		t.Fatal(err)
	}
	_, err = Load(dir)
	var ps Problems
	if !errors.As(err, &ps) || len(ps) != 1 || ps[0].Line != 12 || !strings.HasPrefix(ps[0].Msg, `sandbox.image: "docker:dind" is not allowed`) {
		t.Fatalf("Load with docker:dind = %v, want one problem on sandbox.image at line 12", err)
	}
	if _, err := LoadWith(dir, LoadOptions{AllowedImages: []string{"docker:dind"}}); err != nil {
		t.Fatalf("LoadWith an operator allow-list: %v", err)
	}
	cat := NewCatalog(CatalogOptions{Roots: []string{dir}, Load: LoadOptions{AllowedImages: []string{"docker:*"}}})
	if _, err := cat.LoadDir(dir); err != nil {
		t.Fatalf("catalog LoadDir: %v", err)
	}
}
