package sandbox

import (
	"archive/tar"
	"bytes"
	"context"
	"errors"
	"io"
	"log/slog"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/opsdojo/opsdojo/sandbox/sandboxtest"
)

func TestCreateExecBasics(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	ctx := sandboxtest.Context(t, testTimeout)
	m := newManager(t, e, e.config(), nil)
	sb := mustCreate(t, ctx, m, Spec{
		Image: e.image, AttemptID: "a1", OwnerID: "o1", ChallengeID: "c1",
		Env:   map[string]string{"GREETING": "hello"},
		Files: []File{{Path: "/home/candidate/note.txt", Mode: 0o600, UID: 1000, GID: 1000, Content: []byte("note\n")}},
		Setup: []byte("set -e\necho setup-ran > /etc/opsdojo-setup\n"),
	})
	t.Cleanup(func() { _ = m.Remove(context.Background(), sb.ID) })

	t.Run("user env and files", func(t *testing.T) {
		res := run(t, ctx, m, sb.ID, "", `id -un; echo $GREETING; stat -c '%U %a' ~/note.txt; cat /etc/opsdojo-setup`, 10*time.Second)
		want := "candidate\nhello\ncandidate 600\nsetup-ran\n"
		if string(res.Stdout) != want || res.ExitCode != 0 {
			t.Fatalf("got %q (exit %d, stderr %q), want %q", res.Stdout, res.ExitCode, res.Stderr, want)
		}
	})
	t.Run("exit code and stderr", func(t *testing.T) {
		res := run(t, ctx, m, sb.ID, "root", "echo oops >&2; exit 3", 10*time.Second)
		if res.ExitCode != 3 || string(res.Stderr) != "oops\n" {
			t.Fatalf("got exit %d stderr %q", res.ExitCode, res.Stderr)
		}
	})
	t.Run("stdin", func(t *testing.T) {
		res, err := m.Exec(ctx, sb.ID, []string{"wc", "-c"}, ExecOptions{Stdin: strings.NewReader("12345"), Timeout: 10 * time.Second})
		if err != nil || strings.TrimSpace(string(res.Stdout)) != "5" {
			t.Fatalf("got %q err %v", res.Stdout, err)
		}
	})
	t.Run("timeout kills", func(t *testing.T) {
		start := time.Now()
		res := run(t, ctx, m, sb.ID, "", "sleep 300 & sleep 300", time.Second)
		if !res.TimedOut || time.Since(start) > 8*time.Second {
			t.Fatalf("TimedOut=%v after %s", res.TimedOut, time.Since(start))
		}
		left := run(t, ctx, m, sb.ID, "", "pgrep -c -u candidate -x sleep || true", 5*time.Second)
		if strings.TrimSpace(string(left.Stdout)) != "0" {
			t.Fatalf("sleep processes left after timeout: %q", left.Stdout)
		}
	})
	t.Run("copy out and in", func(t *testing.T) {
		rc, err := m.CopyOut(ctx, sb.ID, "/etc/opsdojo-setup", 1<<20)
		if err != nil {
			t.Fatal(err)
		}
		tr := tar.NewReader(rc)
		hdr, err := tr.Next()
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(tr)
		rc.Close()
		if hdr.Name != "opsdojo-setup" || string(body) != "setup-ran\n" {
			t.Fatalf("copy out: %q %q", hdr.Name, body)
		}
		var buf bytes.Buffer
		tw := tar.NewWriter(&buf)
		_ = tw.WriteHeader(&tar.Header{Name: "in.txt", Mode: 0o644, Size: 2, Uid: 1000, Gid: 1000})
		_, _ = tw.Write([]byte("hi"))
		_ = tw.Close()
		if err := m.CopyIn(ctx, sb.ID, "/workspace", &buf); err != nil {
			t.Fatal(err)
		}
		res := run(t, ctx, m, sb.ID, "", "cat /workspace/in.txt", 5*time.Second)
		if string(res.Stdout) != "hi" {
			t.Fatalf("copy in: %q", res.Stdout)
		}
		if _, err := m.CopyOut(ctx, sb.ID, "/etc/opsdojo-setup", 3); !errors.Is(err, ErrTooLarge) {
			t.Fatalf("copy out over cap: %v", err)
		}
	})
	t.Run("changes and stats", func(t *testing.T) {
		ch, err := m.Changes(ctx, sb.ID)
		if err != nil {
			t.Fatal(err)
		}
		found := false
		for _, c := range ch {
			found = found || c.Path == "/etc/opsdojo-setup"
		}
		if !found {
			t.Fatalf("changes lack /etc/opsdojo-setup: %v", ch)
		}
		st, err := m.Stats(ctx, sb.ID)
		if err != nil || st.MemoryLimit != testMemory || st.Pids == 0 {
			t.Fatalf("stats %+v err %v", st, err)
		}
	})
	// Last: Docker delays later exec exits in this container by ~2-4 s
	// while this exec's stream is held open (see setupWrapper).
	t.Run("background child holding stdout", func(t *testing.T) {
		start := time.Now()
		res := run(t, ctx, m, sb.ID, "", "sleep 30 & echo started", 20*time.Second)
		if res.TimedOut || res.ExitCode != 0 || time.Since(start) > 5*time.Second {
			t.Fatalf("exec with background child: timedOut=%v exit=%d after %s", res.TimedOut, res.ExitCode, time.Since(start))
		}
	})
}

func TestSetupStartsDaemon(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	ctx := sandboxtest.Context(t, testTimeout)
	m := newManager(t, e, e.config(), nil)
	start := time.Now()
	sb := mustCreate(t, ctx, m, Spec{Image: e.image, Setup: []byte("sleep 1000 &\necho started\n")})
	defer m.Remove(ctx, sb.ID)
	if d := time.Since(start); d > 5*time.Second {
		t.Fatalf("create with a daemon-starting setup took %s", d)
	}
	// A daemon left by Setup must not slow later execs (see setupWrapper).
	start = time.Now()
	res := run(t, ctx, m, sb.ID, "root", "pgrep -c -f 'sleep 100[0]'", 5*time.Second)
	if d := time.Since(start); d > time.Second || strings.TrimSpace(string(res.Stdout)) != "1" {
		t.Fatalf("exec after setup: %q in %s", res.Stdout, d)
	}
}

func TestCreateRejects(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	ctx := sandboxtest.Context(t, testTimeout)
	cfg := e.config()
	cfg.MaxSandboxes = 1
	m := newManager(t, e, cfg, nil)
	cases := []struct {
		name string
		spec Spec
		want error
	}{
		{"SYS_ADMIN", Spec{Image: e.image, CapAdd: []string{"SYS_ADMIN"}}, ErrBaseline},
		{"CAP_SYS_PTRACE", Spec{Image: e.image, CapAdd: []string{"CAP_SYS_PTRACE"}}, ErrBaseline},
		{"NET_ADMIN", Spec{Image: e.image, CapAdd: []string{"net_admin"}}, ErrBaseline},
		{"memory above max", Spec{Image: e.image, Memory: 64 << 30}, ErrBaseline},
		{"file in tmpfs", Spec{Image: e.image, Files: []File{{Path: "/tmp/x"}}}, ErrBaseline},
		{"relative file", Spec{Image: e.image, Files: []File{{Path: "etc/x"}}}, ErrBaseline},
		{"bad network", Spec{Image: e.image, Network: "host"}, ErrBaseline},
		{"foreign label", Spec{Image: e.image, Labels: map[string]string{"com.x": "y"}}, ErrBaseline},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			_, err := m.Create(ctx, c.spec)
			if !errors.Is(err, c.want) {
				t.Fatalf("got %v, want %v", err, c.want)
			}
			t.Logf("refused: %v", err)
		})
	}
	t.Run("setup failure removes", func(t *testing.T) {
		_, err := m.Create(ctx, Spec{Image: e.image, Setup: []byte("echo broken; exit 7")})
		if err == nil || !strings.Contains(err.Error(), "status 7") {
			t.Fatalf("got %v", err)
		}
		if l, _ := m.List(ctx); len(l) != 0 {
			t.Fatalf("left behind: %+v", l)
		}
	})
	t.Run("global cap", func(t *testing.T) {
		sb := mustCreate(t, ctx, m, Spec{Image: e.image})
		defer m.Remove(ctx, sb.ID)
		start := time.Now()
		_, err := m.Create(ctx, Spec{Image: e.image})
		if !errors.Is(err, ErrCapacity) || time.Since(start) > 100*time.Millisecond {
			t.Fatalf("got %v after %s", err, time.Since(start))
		}
		t.Logf("capacity: %v", err)
	})
}

func TestOwnerCap(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	ctx := sandboxtest.Context(t, testTimeout)
	cfg := e.config()
	cfg.MaxPerOwner = 1
	m := newManager(t, e, cfg, nil)
	sb := mustCreate(t, ctx, m, Spec{Image: e.image, OwnerID: "alice"})
	if _, err := m.Create(ctx, Spec{Image: e.image, OwnerID: "alice"}); !errors.Is(err, ErrCapacity) {
		t.Fatalf("second for alice: %v", err)
	}
	other := mustCreate(t, ctx, m, Spec{Image: e.image, OwnerID: "bob"})
	_ = m.Remove(ctx, other.ID)
	if err := m.Remove(ctx, sb.ID); err != nil {
		t.Fatal(err)
	}
	again := mustCreate(t, ctx, m, Spec{Image: e.image, OwnerID: "alice"})
	_ = m.Remove(ctx, again.ID)
}

func TestAttach(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	ctx := sandboxtest.Context(t, testTimeout)
	m := newManager(t, e, e.config(), nil)
	sb := mustCreate(t, ctx, m, Spec{Image: e.image})
	defer m.Remove(ctx, sb.ID)
	term, err := m.Attach(ctx, sb.ID, AttachOptions{Cols: 132, Rows: 43})
	if err != nil {
		t.Fatal(err)
	}
	out := newCollector(term)
	if _, err := term.Write([]byte("stty size; id -un\n")); err != nil {
		t.Fatal(err)
	}
	if !out.waitFor("43 132", 10*time.Second) || !out.waitFor("candidate", 5*time.Second) {
		t.Fatalf("terminal output: %q", out.String())
	}
	if err := term.Resize(ctx, 100, 30); err != nil {
		t.Fatal(err)
	}
	_, _ = term.Write([]byte("stty size\n"))
	if !out.waitFor("30 100", 5*time.Second) {
		t.Fatalf("after resize: %q", out.String())
	}
	// A process that tries to outlive the terminal.
	_, _ = term.Write([]byte("setsid nohup sleep 1000 >/dev/null 2>&1 & echo spawned\n"))
	if !out.waitFor("spawned", 5*time.Second) {
		t.Fatalf("no spawn: %q", out.String())
	}
	if err := term.Close(); err != nil {
		t.Fatal(err)
	}
	res := run(t, ctx, m, sb.ID, "root", "pgrep -c -f 'sleep 100[0]' || true", 5*time.Second)
	if strings.TrimSpace(string(res.Stdout)) != "0" {
		t.Fatalf("setsid process outlived the terminal: %q", res.Stdout)
	}
}

// warnRecorder keeps the messages of Warn and Error records.
type warnRecorder struct {
	mu   sync.Mutex
	msgs []string
}

func (w *warnRecorder) Enabled(_ context.Context, l slog.Level) bool { return l >= slog.LevelWarn }
func (w *warnRecorder) Handle(_ context.Context, r slog.Record) error {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.msgs = append(w.msgs, r.Message)
	return nil
}
func (w *warnRecorder) WithAttrs([]slog.Attr) slog.Handler { return w }
func (w *warnRecorder) WithGroup(string) slog.Handler      { return w }

// TestTerminalCloseAfterRemove: a terminal whose sandbox was removed under
// it closes without error and without a warning (its processes went with
// the container).
func TestTerminalCloseAfterRemove(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	ctx := sandboxtest.Context(t, testTimeout)
	warns := &warnRecorder{}
	m, err := NewManager(e.cli, e.config(), slog.New(warns), nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = m.Close(context.Background()) })
	sb := mustCreate(t, ctx, m, Spec{Image: e.image})
	term, err := m.Attach(ctx, sb.ID, AttachOptions{Cols: 80, Rows: 24})
	if err != nil {
		t.Fatal(err)
	}
	out := newCollector(term)
	_, _ = term.Write([]byte("echo ready-$((1+1))\n"))
	if !out.waitFor("ready-2", 10*time.Second) {
		t.Fatalf("terminal output: %q", out.String())
	}
	if err := m.Remove(ctx, sb.ID); err != nil {
		t.Fatal(err)
	}
	if err := term.Close(); err != nil {
		t.Fatalf("close after remove: %v", err)
	}
	warns.mu.Lock()
	defer warns.mu.Unlock()
	if len(warns.msgs) > 0 {
		t.Fatalf("warnings after closing a terminal of a removed sandbox: %q", warns.msgs)
	}
}
