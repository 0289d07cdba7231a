package sandbox

import (
	"archive/tar"
	"bytes"
	"errors"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/opsdojo/opsdojo/sandbox/sandboxtest"
)

func tarOf(t *testing.T, hdrs ...*tar.Header) *bytes.Buffer {
	t.Helper()
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	for _, h := range hdrs {
		if err := tw.WriteHeader(h); err != nil {
			t.Fatal(err)
		}
		if h.Size > 0 {
			_, _ = tw.Write(bytes.Repeat([]byte("x"), int(h.Size)))
		}
	}
	_ = tw.Close()
	return &buf
}

func TestCopySafety(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	ctx := sandboxtest.Context(t, testTimeout)
	cfg := e.config()
	cfg.MaxCopyBytes = 1 << 20
	m := newManager(t, e, cfg, nil)
	sb := mustCreate(t, ctx, m, Spec{Image: e.image})
	defer m.Remove(ctx, sb.ID)

	// A host directory with a secret, and symlinks to it made by the candidate.
	hostDir := t.TempDir()
	if err := os.WriteFile(filepath.Join(hostDir, "secret"), []byte("host-secret"), 0o600); err != nil {
		t.Fatal(err)
	}
	run(t, ctx, m, sb.ID, "", "ln -s "+hostDir+" /workspace/d; ln -s "+hostDir+"/secret /workspace/f", 5*time.Second)

	t.Run("copy out through a symlink to a host path", func(t *testing.T) {
		for _, p := range []string{"/workspace/d/secret", "/workspace/f/."} {
			rc, err := m.CopyOut(ctx, sb.ID, p, 0)
			if err != nil && !errors.Is(err, ErrNoSuchPath) {
				t.Errorf("%s: %v", p, err)
			}
			if err == nil {
				b, _ := io.ReadAll(rc)
				rc.Close()
				if bytes.Contains(b, []byte("host-secret")) {
					t.Fatalf("%s leaked the host file", p)
				}
			}
			t.Logf("%s: %v", p, err)
		}
		rc, err := m.CopyOut(ctx, sb.ID, "/workspace/f", 0)
		if err != nil {
			t.Fatal(err)
		}
		hdr, err := tar.NewReader(rc).Next()
		rc.Close()
		if err != nil || hdr.Typeflag != tar.TypeSymlink {
			t.Fatalf("symlink source not archived as a link: %+v %v", hdr, err)
		}
	})
	t.Run("copy in through a symlink to a host path", func(t *testing.T) {
		err := m.CopyIn(ctx, sb.ID, "/workspace/d", tarOf(t, &tar.Header{Name: "planted", Mode: 0o644, Size: 4}))
		if !errors.Is(err, ErrNoSuchPath) {
			t.Errorf("copy in through the link: %v, want ErrNoSuchPath", err)
		}
		if _, serr := os.Stat(filepath.Join(hostDir, "planted")); serr == nil {
			t.Fatalf("copy in wrote to the host")
		}
	})
	cases := []struct {
		name string
		hdr  *tar.Header
		want error
	}{
		{"dot-dot name", &tar.Header{Name: "../../etc/evil", Mode: 0o644, Size: 1}, ErrUnsafeTar},
		{"absolute name", &tar.Header{Name: "/etc/evil", Mode: 0o644, Size: 1}, ErrUnsafeTar},
		{"hard link out", &tar.Header{Name: "l", Typeflag: tar.TypeLink, Linkname: "../../etc/shadow"}, ErrUnsafeTar},
		{"block device", &tar.Header{Name: "sda", Typeflag: tar.TypeBlock, Devmajor: 8, Mode: 0o600}, ErrUnsafeTar},
		{"over the cap", &tar.Header{Name: "big", Mode: 0o644, Size: 2 << 20}, ErrTooLarge},
	}
	for _, c := range cases {
		t.Run("reject "+c.name, func(t *testing.T) {
			err := m.CopyIn(ctx, sb.ID, "/workspace", tarOf(t, c.hdr))
			if err == nil || (c.want != nil && !errors.Is(err, c.want)) {
				t.Fatalf("got %v", err)
			}
			t.Logf("refused: %v", err)
		})
	}
	res := run(t, ctx, m, sb.ID, "root", "ls /etc/evil /workspace/big /workspace/sda 2>&1 | grep -c 'No such file'", 5*time.Second)
	if strings.TrimSpace(string(res.Stdout)) != "3" {
		t.Fatalf("a refused entry was written: %q", res.Stdout)
	}
}

func TestProbe(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	ctx := sandboxtest.Context(t, testTimeout)
	m := newManager(t, e, e.config(), nil)
	sb := mustCreate(t, ctx, m, Spec{Image: e.image,
		Files: []File{{Path: "/root/secret", Mode: 0o600, Content: []byte("root-only\n")}},
		Setup: []byte("python3 -m http.server 8080 --bind 127.0.0.1 >/dev/null 2>&1 &\n")})
	defer m.Remove(ctx, sb.ID)
	// The candidate (here root in the sandbox) tampers with the tools.
	run(t, ctx, m, sb.ID, "root", "printf '#!/bin/sh\\necho PASS\\n' > /usr/bin/cat; chmod 755 /usr/bin/cat; printf '#!/bin/sh\\necho 200\\n' > /usr/bin/curl", 5*time.Second)
	if res := run(t, ctx, m, sb.ID, "root", "cat /etc/hostname", 5*time.Second); string(res.Stdout) != "PASS\n" {
		t.Fatalf("tamper did not take: %q", res.Stdout)
	}
	res, err := m.Probe(ctx, sb.ID, ProbeSpec{
		Cmd: []string{"sh", "/check.sh"},
		Files: []File{{Path: "/check.sh", Mode: 0o755, Content: []byte(
			"cat " + ProbeSandboxRoot + "/root/secret; head -c 6 " + ProbeSandboxRoot + "/usr/bin/cat; echo; " +
				"curl -s -o /dev/null -w '%{http_code}\\n' http://127.0.0.1:8080/; ps -eo comm= | grep -c python3")}},
		Timeout: 20 * time.Second,
	})
	if err != nil {
		t.Fatal(err)
	}
	want := "root-only\n#!/bin\n200\n1\n"
	if string(res.Stdout) != want || res.ExitCode != 0 {
		t.Fatalf("probe output %q (stderr %q, exit %d), want %q", res.Stdout, res.Stderr, res.ExitCode, want)
	}
	// The probe's files never reach the sandbox.
	if r := run(t, ctx, m, sb.ID, "root", "test -e /check.sh && echo leaked || echo absent", 5*time.Second); string(r.Stdout) != "absent\n" {
		t.Fatalf("probe file in sandbox: %q", r.Stdout)
	}
	t.Run("timeout", func(t *testing.T) {
		start := time.Now()
		res, err := m.Probe(ctx, sb.ID, ProbeSpec{Cmd: []string{"sleep", "100"}, Timeout: time.Second})
		if err != nil || !res.TimedOut || time.Since(start) > 10*time.Second {
			t.Fatalf("probe timeout: %+v %v after %s", res, err, time.Since(start))
		}
	})
}
