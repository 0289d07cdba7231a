package sandbox

import (
	"fmt"
	"slices"
	"strings"

	"github.com/docker/docker/api/types/system"
)

// Sandbox runtimes (Config.Runtime).
const (
	// RuntimeRunc runs sandboxes as ordinary containers: namespaces, cgroups,
	// capabilities and seccomp on the host kernel.
	RuntimeRunc = "runc"
	// RuntimeRunsc runs sandboxes under gVisor: the candidate's system calls
	// are served by gVisor's user-space kernel, which itself runs confined
	// on the host kernel (a second wall). Slower to start and to spawn
	// processes (docs/SANDBOX.md).
	RuntimeRunsc = "runsc"
)

// OCI runtime names registered in dockerd by scripts/setup-host.sh.
const (
	// ociRunsc is runsc with --network=none: loopback inside gVisor's own
	// netstack, unreachable from outside the sandbox, the grader's probe
	// included. Registered for manual use; sandboxes do not use it.
	ociRunsc = "runsc"
	// ociRunscHostinet is runsc with --network=host: gVisor passes socket
	// calls to the host kernel, in the container's OWN network namespace
	// (Docker's "none" = loopback only, or the sandbox's internal network).
	// The probe joins that namespace to reach the candidate's services,
	// and isolate() removes its default route, as with runc. runsc's own
	// netstack (--network=sandbox) refuses to start on these 6.x kernels
	// ("cannot run with network enabled in root network namespace").
	ociRunscHostinet = "runsc-hostinet"
)

// ociRuntime is the dockerd runtime name a sandbox with the given network
// mode (NetworkNone or NetworkIsolated) is created with.
func (c Config) ociRuntime(network string) string {
	if c.Runtime != RuntimeRunsc {
		return RuntimeRunc
	}
	// Both modes get hostinet: the sandbox's network namespace must hold
	// real sockets for the probe to reach (ociRunsc would hide them).
	_ = network
	return ociRunscHostinet
}

// checkRuntimes reports a clear error when dockerd lacks the OCI runtimes
// c.Runtime needs (registered by scripts/setup-host.sh).
func (c Config) checkRuntimes(info system.Info) error {
	need := []string{c.ociRuntime(NetworkNone), c.ociRuntime(NetworkIsolated)}
	var missing []string
	for _, n := range need {
		if _, ok := info.Runtimes[n]; !ok && !slices.Contains(missing, n) {
			missing = append(missing, n)
		}
	}
	if len(missing) == 0 {
		return nil
	}
	have := make([]string, 0, len(info.Runtimes))
	for n := range info.Runtimes {
		have = append(have, n)
	}
	slices.Sort(have)
	return fmt.Errorf("sandbox: runtime %q needs the dockerd runtime(s) %s, which the daemon does not have (it has %s); register them with scripts/setup-host.sh (\"runtimes\" in /etc/docker/daemon.json, then SIGHUP dockerd)",
		c.Runtime, strings.Join(missing, ", "), strings.Join(have, ", "))
}

// Under gVisor's ptrace platform the host sees the sentry, the gofer and
// about six host threads per guest process (measured: an idle sandbox 54
// host pids, +127 for 20 sleeping processes), and a sentry that cannot make
// a thread dies with its whole sandbox. So the pids cgroup is only a host
// backstop sized from Spec.Pids, and the guest's process count is capped by
// RLIMIT_NPROC, which gVisor's kernel enforces per uid inside the sandbox
// (under runc it is per uid host-wide, hence Config.NProc there).
const (
	runscHostPidsBase    = 128
	runscHostPidsPerTask = 8
)

// hostPids is the PidsLimit of the container for a sandbox of pids tasks.
func (c Config) hostPids(pids int64) int64 {
	if c.Runtime == RuntimeRunsc {
		return runscHostPidsBase + runscHostPidsPerTask*pids
	}
	return pids
}

// nproc is the RLIMIT_NPROC of a sandbox of pids tasks.
func (c Config) nproc(pids int64) int64 {
	if c.Runtime == RuntimeRunsc {
		return pids
	}
	return c.NProc
}
