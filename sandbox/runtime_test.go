package sandbox

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/docker/docker/api/types/system"
)

// TestRuntimeDrift: the drift check compares the OCI runtime. A sandbox
// asked for under gVisor that the daemon would start with runc (a daemon
// default, a plugin rewriting the request) is refused, and the other way
// round.
func TestRuntimeDrift(t *testing.T) {
	t.Parallel()
	for _, rt := range []string{RuntimeRunc, RuntimeRunsc} {
		for _, netMode := range []string{NetworkNone, NetworkIsolated} {
			m := &Manager{cfg: Config{Runtime: rt, ReadonlyRootfs: false}.withDefaults(), storage: storageOptNo}
			s, err := m.normalize(Spec{Image: "img", Network: netMode})
			if err != nil {
				t.Fatal(err)
			}
			cc, hc := m.baseline(s, m.labelsFor(s, time.Now(), time.Now(), ""), "")
			if hc.Runtime == "" {
				t.Fatalf("%s/%s: baseline leaves the runtime to the daemon's default", rt, netMode)
			}
			if err := compareBaseline(fakeInspect(cc, hc), cc, hc); err != nil {
				t.Fatalf("%s/%s: unchanged baseline refused: %v", rt, netMode, err)
			}
			for _, other := range []string{"", RuntimeRunc, ociRunsc, ociRunscHostinet, "io.containerd.runc.v2"} {
				if other == hc.Runtime {
					continue
				}
				got := *hc
				got.Runtime = other
				err := compareBaseline(fakeInspect(cc, &got), cc, hc)
				if !errors.Is(err, ErrBaseline) || !strings.Contains(err.Error(), "Runtime=") {
					t.Errorf("%s/%s: daemon reporting runtime %q not detected: %v", rt, netMode, other, err)
				}
			}
		}
	}
}

// TestRuntimeChoice: runc sandboxes use runc; gVisor sandboxes use the
// hostinet registration in both network modes (the probe must reach the
// sandbox's sockets from its network namespace).
func TestRuntimeChoice(t *testing.T) {
	t.Parallel()
	cases := []struct{ runtime, network, want string }{
		{"", NetworkNone, "runc"},
		{RuntimeRunc, NetworkIsolated, "runc"},
		{RuntimeRunsc, NetworkNone, "runsc-hostinet"},
		{RuntimeRunsc, NetworkIsolated, "runsc-hostinet"},
	}
	for _, c := range cases {
		if got := (Config{Runtime: c.runtime}).withDefaults().ociRuntime(c.network); got != c.want {
			t.Errorf("runtime %q network %q: %q, want %q", c.runtime, c.network, got, c.want)
		}
	}
	if err := (Config{Runtime: "kata"}).withDefaults().validate(); err == nil || !strings.Contains(err.Error(), `"kata"`) {
		t.Errorf("unknown runtime accepted: %v", err)
	}
	info := system.Info{Runtimes: map[string]system.RuntimeWithStatus{"runc": {}, "runsc": {}}}
	if err := (Config{Runtime: RuntimeRunsc}).checkRuntimes(info); err == nil || !strings.Contains(err.Error(), "runsc-hostinet") || !strings.Contains(err.Error(), "setup-host.sh") {
		t.Errorf("missing runsc-hostinet not reported clearly: %v", err)
	}
	if err := (Config{Runtime: RuntimeRunc}).checkRuntimes(info); err != nil {
		t.Errorf("runc refused: %v", err)
	}
}
