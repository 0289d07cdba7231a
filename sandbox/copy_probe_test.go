package sandbox

import (
	"archive/tar"
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strconv"
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
	m := probeManager(t, e)
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
				"curl -s -o /dev/null -w '%{http_code}\\n' http://127.0.0.1:8080/; sbx-procs | grep -c python3; " +
				"p=$(sbx-port 8080) && sbx-exe $(echo $p | cut -d' ' -f1 | cut -d= -f2) | cut -d' ' -f3-")}},
		Timeout: 20 * time.Second,
	})
	if err != nil {
		t.Fatal(err)
	}
	want := "root-only\n#!/bin\n200\n1\nverified=yes pkg=python3.11-minimal path=/usr/bin/python3.11\n"
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
		if err != nil || !res.TimedOut || time.Since(start) > 45*time.Second { // far below sleep 100, whatever the load
			t.Fatalf("probe timeout: %+v %v after %s", res, err, time.Since(start))
		}
	})
}

// probeImageForTest is the real probe image (with the sbx-* helpers); the
// probe tests below skip (fail under CI) without it.
const probeImageForTest = "opsdojo/probe:latest"

func probeManager(t *testing.T, e env) *Manager {
	t.Helper()
	ctx := sandboxtest.Context(t, 10*time.Second)
	if _, err := e.cli.ImageInspect(ctx, probeImageForTest); err != nil {
		sandboxtest.Unavailable(t, "probe image %s missing (opsdojo images build probe): %v", probeImageForTest, err)
	}
	cfg := e.config()
	cfg.ProbeImage = probeImageForTest
	return newManager(t, e, cfg, nil)
}

// spyScript is a root spy in the sandbox: one Python process (it forks
// nothing, so it does not move ns_last_pid itself) that for `secs` seconds
// samples ns_last_pid and /proc/loadavg's last pid, records every process
// that was not there when it started and SIGKILLs it.
const spyScript = `import os, signal, time, json, sys
secs = float(sys.argv[1])
def pids(): return {int(p) for p in os.listdir("/proc") if p.isdigit()}
def nslast(): return open("/proc/sys/kernel/ns_last_pid").read().strip()
def lastpid(): return open("/proc/loadavg").read().split()[-1]
me, start = os.getpid(), pids()
seen, kills, ns, lp = {}, 0, {nslast()}, {lastpid()}
end = time.time() + secs
while time.time() < end:
    ns.add(nslast()); lp.add(lastpid())
    for p in pids() - start - {me}:
        if p not in seen:
            try: seen[p] = open(f"/proc/{p}/cmdline", "rb").read().replace(b"\0", b" ").decode(errors="replace")
            except OSError: seen[p] = "?"
        try: os.kill(p, signal.SIGKILL); kills += 1
        except OSError: pass
json.dump({"seen": seen, "kills": kills, "ns_last_pid": sorted(ns), "loadavg_last": sorted(lp)}, open("/var/spy.json", "w"))
`

// TestProbeIsInvisible: a root spy in the sandbox (with KILL, the
// capability the allow-list permits) watches /proc, ns_last_pid and
// /proc/loadavg while a probe forks processes, and kills every new process
// it sees. It must see nothing, the counters must not move, and the probe
// must finish its work.
func TestProbeIsInvisible(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	ctx := sandboxtest.Context(t, testTimeout)
	m := probeManager(t, e)
	sb := mustCreate(t, ctx, m, Spec{Image: e.image, CapAdd: []string{"KILL"},
		Files: []File{{Path: "/usr/local/bin/spy.py", Mode: 0o755, Content: []byte(spyScript)}}})
	defer m.Remove(ctx, sb.ID)
	const spySecs = 12
	run(t, ctx, m, sb.ID, "root", "(setsid nohup python3 /usr/local/bin/spy.py "+strconv.Itoa(spySecs)+" >/dev/null 2>&1 &)", 5*time.Second)
	start := time.Now()
	time.Sleep(500 * time.Millisecond) // the spy has taken its first sample
	res, err := m.Probe(ctx, sb.ID, ProbeSpec{
		Cmd:     []string{"bash", "-c", "for i in $(seq 30); do /bin/true; done; sleep 3; echo survived"},
		Timeout: 20 * time.Second,
	})
	if err != nil {
		t.Fatal(err)
	}
	if string(res.Stdout) != "survived\n" || res.ExitCode != 0 {
		t.Errorf("the probe did not finish its work: %q (stderr %q, exit %d)", res.Stdout, res.Stderr, res.ExitCode)
	}
	if d := spySecs*time.Second + time.Second - time.Since(start); d > 0 {
		time.Sleep(d)
	}
	var spy struct {
		Seen        map[string]string `json:"seen"`
		Kills       int               `json:"kills"`
		NsLastPid   []string          `json:"ns_last_pid"`
		LoadavgLast []string          `json:"loadavg_last"`
	}
	out := run(t, ctx, m, sb.ID, "root", "cat /var/spy.json", 5*time.Second)
	if err := json.Unmarshal(out.Stdout, &spy); err != nil {
		t.Fatalf("spy report %q: %v", out.Stdout, err)
	}
	t.Logf("spy: %+v", spy)
	if len(spy.Seen) > 0 || spy.Kills > 0 {
		t.Errorf("the sandbox saw %d new processes during the probe (killed %d): %v", len(spy.Seen), spy.Kills, spy.Seen)
	}
	if len(spy.NsLastPid) != 1 || len(spy.LoadavgLast) != 1 {
		t.Errorf("the sandbox's pid counters moved during the probe: ns_last_pid %v, loadavg last pid %v", spy.NsLastPid, spy.LoadavgLast)
	}
}

// TestSbxPathRace: the candidate swaps a directory for an absolute symlink
// (to a path that only exists in the probe) as fast as it can while a probe
// reads the file below it hundreds of times with sbx-path and sbx-cat. The
// grader must never read outside the sandbox.
func TestSbxPathRace(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	ctx := sandboxtest.Context(t, 5*time.Minute) // 80 helper runs: slow on a loaded host
	m := probeManager(t, e)
	sb := mustCreate(t, ctx, m, Spec{Image: e.image,
		Files: []File{{Path: "/srv/data/a/file", Mode: 0o644, Content: []byte("sandbox-content\n")},
			{Path: "/usr/local/bin/swap.py", Mode: 0o755, Content: []byte(`import os, time
end = time.time() + 240
os.chdir("/srv/data")
while time.time() < end and not os.path.exists("/tmp/stop"):
    os.rename("a", "a.d"); os.symlink("/escape", "a")
    os.unlink("a"); os.rename("a.d", "a")
`)}}})
	defer m.Remove(ctx, sb.ID)
	run(t, ctx, m, sb.ID, "root", "(setsid nohup python3 /usr/local/bin/swap.py >/dev/null 2>&1 &)", 5*time.Second)
	defer run(t, ctx, m, sb.ID, "root", "touch /tmp/stop", 5*time.Second)
	res, err := m.Probe(ctx, sb.ID, ProbeSpec{
		Cmd: []string{"bash", "-c", `ok=0 out=0
for i in $(seq 40); do
  if p=$(sbx-path /srv/data/a/file 2>/dev/null); then c=$(cat "$p" 2>/dev/null); [ "$c" = sandbox-content ] && ok=$((ok+1)); [ "$c" = GRADER-SECRET ] && out=$((out+1)); fi
  c=$(sbx-cat /srv/data/a/file 2>/dev/null); [ "$c" = GRADER-SECRET ] && out=$((out+1))
done
echo "ok=$ok out=$out"`},
		Files:   []File{{Path: "/escape/file", Mode: 0o644, Content: []byte("GRADER-SECRET\n")}},
		Timeout: 4 * time.Minute,
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("probe: %s %s", res.Stdout, res.Stderr)
	var ok, escaped int
	if _, err := fmt.Sscanf(string(res.Stdout), "ok=%d out=%d", &ok, &escaped); err != nil || res.ExitCode != 0 {
		t.Fatalf("probe output %q (stderr %q, exit %d)", res.Stdout, res.Stderr, res.ExitCode)
	}
	if escaped > 0 {
		t.Fatalf("the grader read a file outside the sandbox %d times", escaped)
	}
	if ok == 0 {
		t.Fatalf("sbx-path never read the sandbox's file")
	}
}

// BenchmarkProbe: one probe run of `true` against a live sandbox (with the
// facts container: create, start, the root descriptor handed over, remove).
func BenchmarkProbe(b *testing.B) {
	e := newEnv(b)
	ctx := sandboxtest.Context(b, 10*time.Minute)
	if _, err := e.cli.ImageInspect(ctx, probeImageForTest); err != nil {
		sandboxtest.Unavailable(b, "probe image %s missing: %v", probeImageForTest, err)
	}
	cfg := e.config()
	cfg.ProbeImage = probeImageForTest
	m := newManager(b, e, cfg, nil)
	sb := mustCreate(b, ctx, m, Spec{Image: e.image})
	defer m.Remove(ctx, sb.ID)
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		res, err := m.Probe(ctx, sb.ID, ProbeSpec{Cmd: []string{"true"}, Timeout: time.Minute})
		if err != nil || res.ExitCode != 0 {
			b.Fatalf("probe: %v exit %d %s", err, res.ExitCode, res.Stderr)
		}
	}
}
