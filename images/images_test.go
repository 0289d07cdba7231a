package images

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestMirrorFrom(t *testing.T) {
	t.Parallel()
	cases := []struct{ name, src, want string }{
		{"one-line", "deb http://ftp.de.debian.org/debian bookworm main\n", "http://ftp.de.debian.org/debian"},
		{"one-line with options", "deb [arch=amd64 signed-by=/x.gpg] http://mirror.example/debian/ bookworm main", "http://mirror.example/debian"},
		{"deb822", "Types: deb\nURIs: http://deb.debian.org/debian\nSuites: bookworm\n", "http://deb.debian.org/debian"},
		{"security skipped", "deb http://security.debian.org/debian-security bookworm-security main\n", ""},
		{"comments only", "# deb http://x/debian bookworm main\n", ""},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			if got := mirrorFrom(tc.src); got != tc.want {
				t.Fatalf("mirrorFrom = %q, want %q", got, tc.want)
			}
		})
	}
}

func TestDiscoverOrdersBasesFirstAndReadsDirectives(t *testing.T) {
	t.Parallel()
	root := t.TempDir()
	write := func(dir, content string) {
		if err := os.MkdirAll(filepath.Join(root, dir), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(root, dir, "Dockerfile"), []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	write("app", "ARG BASE=opsdojo/shell:latest\nFROM ${BASE}\n")
	write("shell", "ARG BASE=debian:bookworm-slim\nFROM ${BASE}\n")
	write("python", "# opsdojo:name python:3.11-slim\n# opsdojo:standin\nARG BASE=debian:bookworm-slim\nFROM ${BASE}\n")
	defs, err := Discover(root)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, d := range defs {
		names = append(names, d.Name)
	}
	got := strings.Join(names, ",")
	if got != "opsdojo/shell:latest,opsdojo/app:latest,python:3.11-slim" {
		t.Fatalf("order %s", got)
	}
	if !defs[2].StandIn || defs[2].Base != "debian:bookworm-slim" {
		t.Fatalf("stand-in not parsed: %+v", defs[2])
	}
}

func TestDiscoverRequiresBaseArg(t *testing.T) {
	t.Parallel()
	root := t.TempDir()
	_ = os.MkdirAll(filepath.Join(root, "x"), 0o755)
	_ = os.WriteFile(filepath.Join(root, "x", "Dockerfile"), []byte("FROM debian:bookworm-slim\n"), 0o644)
	_, err := Discover(root)
	if err == nil || !strings.Contains(err.Error(), "ARG BASE") {
		t.Fatalf("err = %v, want a hint about ARG BASE", err)
	}
}

func TestHashChangesWithContentAndBase(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	_ = os.WriteFile(filepath.Join(dir, "Dockerfile"), []byte("ARG BASE=a\nFROM ${BASE}\n"), 0o644)
	d := Definition{Dir: dir, Name: "opsdojo/x:latest", Base: "a"}
	h1, _ := Hash(d, "sha256:1")
	h2, _ := Hash(d, "sha256:1")
	h3, _ := Hash(d, "sha256:2")
	_ = os.WriteFile(filepath.Join(dir, "extra.sh"), []byte("echo"), 0o644)
	h4, _ := Hash(d, "sha256:1")
	if h1 != h2 || h1 == h3 || h1 == h4 {
		t.Fatalf("hashes: %s %s %s %s", h1, h2, h3, h4)
	}
}

func TestDebootstrapNeedsRoot(t *testing.T) {
	t.Parallel()
	d := &Debootstrap{Euid: func() int { return 1000 }}
	err := d.Make(t.Context(), "debian:bookworm-slim", os.Stderr)
	if err != ErrNeedsRoot {
		t.Fatalf("err = %v, want ErrNeedsRoot", err)
	}
	if d.CanMake("alpine:3") || !d.CanMake("debian:bookworm-slim") {
		t.Fatal("CanMake wrong")
	}
}
