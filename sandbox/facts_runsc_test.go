package sandbox

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/opsdojo/opsdojo/sandbox/sandboxtest"
)

// runscProbeManager is probeManager under gVisor, whatever
// OPSDOJO_TEST_RUNTIME says (skipped where the daemon has no runsc).
func runscProbeManager(t *testing.T, e env) *Manager {
	t.Helper()
	ctx := sandboxtest.Context(t, 10*time.Second)
	info, err := e.cli.Info(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if _, ok := info.Runtimes[ociRunscHostinet]; !ok {
		sandboxtest.Unavailable(t, "the daemon has no %s runtime (scripts/setup-host.sh)", ociRunscHostinet)
	}
	if _, err := e.cli.ImageInspect(ctx, probeImageForTest); err != nil {
		sandboxtest.Unavailable(t, "probe image %s missing (opsdojo images build probe): %v", probeImageForTest, err)
	}
	cfg := e.config()
	cfg.ProbeImage = probeImageForTest
	cfg.Runtime = RuntimeRunsc
	return newManager(t, e, cfg, nil)
}

// TestRuntimeProbeFactsUnderGVisor: the probe grades a gVisor sandbox from
// outside it. Files come from the overlay (a candidate's write is seen at
// once, /etc/hosts is the sandbox's), processes from runsc's own table
// (uid, pid, comm), and what cannot be seen from outside makes the
// helper "not run" — recorded in $SBX_NOTRUN even when the script ignores
// the exit status — never a vacuous answer: a file on the sentry's /tmp
// (directly or through a symlink), /dev, an executable's identity. (Before: every probe under runsc was refused.)
func TestRuntimeProbeFactsUnderGVisor(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	m := runscProbeManager(t, e)
	ctx := sandboxtest.Context(t, 3*time.Minute)
	sb := mustCreate(t, ctx, m, Spec{Image: e.image, User: "root"})
	if res := run(t, ctx, m, sb.ID, "root", `set -e
echo motd-fixed > /etc/motd
echo "10.9.8.7 db.internal" >> /etc/hosts
echo in-tmp > /tmp/x
ln -s /tmp/x /etc/via-tmp
mkdir -p /srv/d && echo a > /srv/d/a`, 30*time.Second); res.ExitCode != 0 {
		t.Fatalf("setup: %d %s", res.ExitCode, res.Stderr)
	}
	if res := run(t, ctx, m, sb.ID, "www-data", `(setsid bash -c 'exec -a fake-name sleep 600' </dev/null >/dev/null 2>&1 &)
for i in $(seq 50); do pgrep -u 33 sleep >/dev/null && exit 0; sleep 0.1; done; exit 1`, 30*time.Second); res.ExitCode != 0 {
		t.Fatalf("start a process as www-data: %d %s", res.ExitCode, res.Stderr)
	}
	probe := func(script string) string {
		t.Helper()
		res, err := m.Probe(ctx, sb.ID, ProbeSpec{Cmd: []string{"bash", "-c", script}, Env: []string{"SBX_NOTRUN=/tmp/notrun"}, Timeout: time.Minute})
		if err != nil {
			t.Fatalf("probe %q: %v", script, err)
		}
		t.Logf("probe %q:\n%s%s", script, res.Stdout, res.Stderr)
		return string(res.Stdout)
	}
	// What works.
	out := probe(`sbx-cat /etc/motd; grep -c db.internal "$(sbx-path /etc/hosts)"; sbx-cat /srv/d/a; sbx-procs --basic | awk '$3 == 33 {print "uid33", $4}'`)
	for _, want := range []string{"motd-fixed\n", "1\n", "a\n", "uid33 sleep\n"} {
		if !strings.Contains(out, want) {
			t.Errorf("probe output %q lacks %q", out, want)
		}
	}
	// What is refused, even when the script swallows the failure (one
	// probe, a $SBX_NOTRUN file per case).
	cases := []struct{ script, reason string }{
		{`sbx-cat /tmp/x || echo swallowed`, "/tmp lives inside the gVisor"},
		{`f=$(sbx-path /etc/via-tmp) || echo swallowed`, "/tmp lives inside the gVisor"},
		{`sbx-ls /var/tmp || echo swallowed`, "/var/tmp lives inside the gVisor"},
		{`sbx-stat /dev/shm || echo swallowed`, "/dev lives inside the gVisor"},
		{`sbx-procs || echo swallowed`, "executable, arguments and sockets"},
		{`sbx-exe 1 || echo swallowed`, "executable, arguments and sockets"},
		{`sbx-port 8080 || echo swallowed`, "executable, arguments and sockets"},
	}
	var script strings.Builder
	for i, c := range cases {
		fmt.Fprintf(&script, "export SBX_NOTRUN=/tmp/nr%d; %s\necho \"case%d=$(cat /tmp/nr%d 2>/dev/null)\"\n", i, c.script, i, i)
	}
	out = probe(script.String())
	for i, c := range cases {
		got := ""
		for _, l := range strings.Split(out, "\n") {
			if v, ok := strings.CutPrefix(l, fmt.Sprintf("case%d=", i)); ok {
				got = v
			}
		}
		if !strings.Contains(got, c.reason) {
			t.Errorf("%s: not refused with %q: $SBX_NOTRUN has %q", c.script, c.reason, got)
		}
	}
}

// TestRuntimeFactsSourceByRuntime: runc sandboxes keep the host-PID-namespace
// facts source, gVisor ones get theirs.
func TestRuntimeFactsSourceByRuntime(t *testing.T) {
	if _, ok := (&Manager{cfg: Config{}.withDefaults()}).factsSource().(dockerFacts); !ok {
		t.Error("runc sandboxes lost the host-PID-namespace facts source")
	}
	if _, ok := (&Manager{cfg: Config{Runtime: RuntimeRunsc}.withDefaults()}).factsSource().(runscFacts); !ok {
		t.Error("gVisor sandboxes do not get the gVisor facts source")
	}
}
