package challenges

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

type fakeImages struct {
	present map[string]bool
	err     error
}

func (f fakeImages) ImageExists(_ context.Context, ref string) (bool, error) {
	return f.present[ref], f.err
}

// TestSandboxImageBuildResolvesToItsTag: `sandbox.image: build` loads as
// opsdojo/challenge-<id>:<hash of image/>, the context files count in the
// version, and an edit of image/ changes both.
func TestSandboxImageBuildResolvesToItsTag(t *testing.T) {
	t.Parallel()
	src := filepath.Join("testdata", "images", "own-image")
	c, err := Load(src)
	if err != nil {
		t.Fatal(err)
	}
	if !c.BuildsImage() || !regexp.MustCompile(`^opsdojo/challenge-own-image:[0-9a-f]{12}$`).MatchString(c.Sandbox.Image) {
		t.Fatalf("BuildsImage %v, image %q", c.BuildsImage(), c.Sandbox.Image)
	}
	if _, ok := c.Files["image/Dockerfile"]; !ok {
		t.Errorf("image/Dockerfile not among the version's files: %v", c.Files)
	}
	dir := t.TempDir()
	if err := os.CopyFS(dir, os.DirFS(src)); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "image", "marker"), []byte("edited\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	c2, err := Load(dir)
	if err != nil {
		t.Fatal(err)
	}
	if c2.Sandbox.Image == c.Sandbox.Image || c2.Version == c.Version {
		t.Errorf("edit of image/ kept tag %s / version %s", c2.Sandbox.Image, c2.Version)
	}
}

// TestCheckSandboxImageGolden: a missing image is reported at
// sandbox.image with the command that builds it (testdata/images/want.golden).
func TestCheckSandboxImageGolden(t *testing.T) {
	t.Parallel()
	var lines []string
	for _, name := range []string{"missing-library", "own-image"} {
		c, err := Load(filepath.Join("testdata", "images", name))
		if err != nil {
			t.Fatal(err)
		}
		c.Dir = filepath.Join("testdata", "images", name) // stable paths in the golden
		p, err := CheckSandboxImage(context.Background(), c, fakeImages{})
		if err != nil || p == nil {
			t.Fatalf("%s: problem %v, err %v", name, p, err)
		}
		lines = append(lines, p.String())
		if p, err := CheckSandboxImage(context.Background(), c, fakeImages{present: map[string]bool{c.Sandbox.Image: true}}); p != nil || err != nil {
			t.Errorf("%s present: %v %v", name, p, err)
		}
	}
	got := strings.Join(lines, "\n") + "\n"
	golden := filepath.Join("testdata", "images", "want.golden")
	if *update {
		if err := os.WriteFile(golden, []byte(got), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(golden)
	if err != nil {
		t.Fatalf("%v (run go test ./challenges -run TestCheckSandboxImageGolden -update)", err)
	}
	if got != string(want) {
		t.Errorf("got\n%s\nwant\n%s", got, want)
	}
}

// TestCheckSandboxImageWithoutDocker: when the checker cannot answer, the
// result is ErrImageUnchecked (lint's warning), still placed at the field.
func TestCheckSandboxImageWithoutDocker(t *testing.T) {
	t.Parallel()
	c, err := Load(filepath.Join("testdata", "images", "missing-library"))
	if err != nil {
		t.Fatal(err)
	}
	p, err := CheckSandboxImage(context.Background(), c, fakeImages{err: errors.New("connection refused")})
	if !errors.Is(err, ErrImageUnchecked) || p == nil || p.Line != 15 || p.Col != 10 || !strings.Contains(p.Msg, "could not be checked") {
		t.Fatalf("problem %+v, err %v", p, err)
	}
}
