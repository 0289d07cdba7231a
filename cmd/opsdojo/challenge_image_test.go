package main

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/docker/docker/api/types/image"

	"github.com/opsdojo/opsdojo/challenges"
	"github.com/opsdojo/opsdojo/sandbox/sandboxtest"
)

// TestChallengeShipsItsOwnImage: a challenge with `sandbox.image: build`
// and image/Dockerfile (FROM opsdojo/shell:latest, adding a file) fails
// lint with the command that builds it; `images build --challenge` builds
// it with no network; lint is then clean and `challenge test` passes in
// sandboxes of that image (its solution needs the added file).
func TestChallengeShipsItsOwnImage(t *testing.T) {
	t.Parallel()
	dc := sandboxtest.Client(t)
	sandboxtest.Image(t, dc)
	dir := filepath.Join(t.TempDir(), "own")
	if err := os.CopyFS(dir, os.DirFS(filepath.Join("..", "..", "challenges", "testdata", "images", "own-image"))); err != nil {
		t.Fatal(err)
	}
	// A unique id, so a tag left by another run cannot skip the build.
	id := fmt.Sprintf("own-image-k%d", time.Now().UnixNano()%1e9)
	spec := filepath.Join(dir, challenges.SpecFile)
	raw, err := os.ReadFile(spec)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(spec, []byte(strings.Replace(string(raw), "id: own-image", "id: "+id, 1)), 0o644); err != nil {
		t.Fatal(err)
	}
	ch, err := challenges.Load(dir)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		_, _ = dc.ImageRemove(context.Background(), ch.Sandbox.Image, image.RemoveOptions{Force: true, PruneChildren: true})
	})

	code, out, _ := run(t, nil, "challenge", "lint", "--quiet", dir)
	want := "challenge.yaml:15:10: sandbox.image: \"" + ch.Sandbox.Image + "\" is not on the Docker host (the server never pulls); build it with: opsdojo images build --challenge " + ch.Dir
	if code != 1 || !strings.Contains(out, want) {
		t.Fatalf("lint before build: exit %d\n%s\nwant %s", code, out, want)
	}
	if code, out, stderr := run(t, nil, "images", "build", "--challenge", dir); code != 0 || !strings.Contains(out, "built "+ch.Sandbox.Image) {
		t.Fatalf("images build --challenge: exit %d\n%s%s", code, out, stderr)
	}
	if code, out, stderr := run(t, nil, "challenge", "lint", dir); code != 0 {
		t.Fatalf("lint after build: exit %d\n%s%s", code, out, stderr)
	}
	code, out, stderr := run(t, nil, "challenge", "test", dir)
	t.Log(out)
	if code != 0 || !strings.Contains(out, "1 passed, 0 failed") {
		t.Fatalf("self-test: exit %d\n%s%s", code, out, stderr)
	}
}

// TestLintWithoutDockerWarns: with no Docker, lint cannot check the image:
// it warns on stderr, at sandbox.image, and exits 0 for an otherwise clean
// challenge. (Not parallel: it points DOCKER_HOST nowhere.)
func TestLintWithoutDockerWarns(t *testing.T) {
	t.Setenv("DOCKER_HOST", "unix:///nonexistent/opsdojo-k/docker.sock")
	dir := filepath.Join("..", "..", "challenges", "testdata", "images", "missing-library")
	code, out, stderr := run(t, nil, "challenge", "lint", dir)
	if code != 0 || !strings.Contains(stderr, "warning: "+filepath.Join(dir, "challenge.yaml")+":15:10: sandbox.image: \"opsdojo/not-built-here\" could not be checked") {
		t.Fatalf("exit %d\nstdout:\n%s\nstderr:\n%s", code, out, stderr)
	}
	if code, _, stderr := run(t, nil, "challenge", "lint", "--no-docker", dir); code != 0 || strings.Contains(stderr, "warning") {
		t.Fatalf("--no-docker: exit %d\n%s", code, stderr)
	}
}

// TestChallengeTestBuildsItsImage: `challenge test` builds a missing
// challenge-shipped image itself before the self-test.
func TestChallengeTestBuildsItsImage(t *testing.T) {
	t.Parallel()
	dc := sandboxtest.Client(t)
	sandboxtest.Image(t, dc)
	dir := filepath.Join(t.TempDir(), "own")
	if err := os.CopyFS(dir, os.DirFS(filepath.Join("..", "..", "challenges", "testdata", "images", "own-image"))); err != nil {
		t.Fatal(err)
	}
	id := fmt.Sprintf("own-image-t%d", time.Now().UnixNano()%1e9)
	spec := filepath.Join(dir, challenges.SpecFile)
	raw, err := os.ReadFile(spec)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(spec, []byte(strings.Replace(string(raw), "id: own-image", "id: "+id, 1)), 0o644); err != nil {
		t.Fatal(err)
	}
	ch, err := challenges.Load(dir)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		_, _ = dc.ImageRemove(context.Background(), ch.Sandbox.Image, image.RemoveOptions{Force: true, PruneChildren: true})
	})
	code, out, stderr := run(t, nil, "challenge", "test", dir)
	if code != 0 || !strings.Contains(out, "==> built "+ch.Sandbox.Image) || !strings.Contains(out, "1 passed, 0 failed") {
		t.Fatalf("self-test: exit %d\n%s%s", code, out, stderr)
	}
}
