package sandbox

import (
	"context"
	"fmt"
	"slices"
	"sort"
	"strconv"
	"strings"

	"github.com/docker/docker/api/types"
	"github.com/docker/docker/api/types/container"
	"github.com/docker/docker/api/types/mount"
	"github.com/docker/docker/api/types/volume"
)

// runscFacts is the facts source of gVisor sandboxes. Under runsc the
// candidate's processes live inside gVisor's kernel (the sentry): the
// host's /proc shows only runsc-sandbox, runsc-gofer and ptrace stubs, and
// /proc/PID/root of the container's host pid is the sentry's empty root,
// so dockerFacts would see no process and no file. What can be seen from
// outside, and how:
//
//   - files: the container's overlay (GraphDriver MergedDir), which the
//     gofer writes through to at once, bind-mounted read-only into the
//     facts container, with the daemon's /etc/hosts, /etc/resolv.conf and
//     /etc/hostname bound over it as in the sandbox. The tmpfs mounts
//     (/tmp, /var/tmp, /dev/shm) and /dev, /proc, /sys live inside the
//     sentry: the probe refuses any path that reaches one (SBX_HIDDEN), so
//     such a check is "not run", never a vacuous pass;
//   - processes: `runsc --root <state> ps <id>` asks the sentry over its
//     control socket (an abstract unix socket in the host's network
//     namespace): uid, pid, ppid, tty, comm. No executable, argv, open
//     files or socket owners: sbx-procs (except --basic), sbx-exe and
//     sbx-port make their check "not run" (SBX_NO_EXE);
//   - ports: the probe joins the sandbox's network namespace, which holds
//     the real sockets under runsc-hostinet, as with runc.
//
// The facts container runs runc (never gVisor), in the host's network and
// PID namespaces (runsc finds the sentry's control socket there), with no
// capability at all, a read-only root, the host's runsc binary and state
// directory bound read-only, and only our sbx-facts: nothing of the
// grader's runs in the sandbox's PID namespace, and no binary of the
// candidate's is executed.
type runscFacts struct{ m *Manager }

// Where runsc keeps its state under Docker 20.10's containerd v2 shim
// (every runtime of the daemon uses runc's shim root), and where the
// facts container sees what it needs.
const (
	runscStateDir   = "/var/run/docker/runtime-runc/moby"
	runscFactsBin   = "/opt/runsc/runsc"
	runscFactsState = "/run/runsc-state"
	runscFactsRoot  = "/run/sbx-root"
)

// runscAlwaysHidden are the sandbox paths the sentry serves from its own
// memory whatever the configuration (devices, proc and sys).
var runscAlwaysHidden = []string{"/dev", "/proc", "/sys"}

// runscNoExe is the "not run" reason of every check that needs a process's
// executable, argv, descriptors or sockets under gVisor.
const runscNoExe = "the executable, arguments and sockets of a process inside a gVisor (runsc) sandbox cannot be read from outside it, so this check cannot be graded under --runtime runsc (grade it with runc; docs/SANDBOX.md, gVisor)"

func (f runscFacts) Attach(ctx context.Context, sandboxID string) (FactsSession, error) {
	m := f.m
	info, err := m.cli.ContainerInspect(ctx, sandboxID)
	if err != nil {
		return FactsSession{}, fmt.Errorf("sandbox: probe facts: inspect %s: %w", sandboxID, err)
	}
	if info.State == nil || !info.State.Running {
		return FactsSession{}, fmt.Errorf("sandbox: probe facts: sandbox %s is not running", shortID(sandboxID))
	}
	merged := ""
	if info.GraphDriver.Name == "overlay2" {
		merged = info.GraphDriver.Data["MergedDir"]
	}
	if merged == "" {
		return FactsSession{}, fmt.Errorf("sandbox: probe facts: sandbox %s runs under gVisor on the %q storage driver: the grader reads a gVisor sandbox's files through overlay2's merged directory, which this daemon does not give", shortID(sandboxID), info.GraphDriver.Name)
	}
	bin, err := m.runscBinary(ctx)
	if err != nil {
		return FactsSession{}, err
	}
	sums, err := m.pristineSums(ctx, info.Image)
	if err != nil {
		return FactsSession{}, err
	}
	labels := m.probeLabels(sandboxID)
	vol, err := m.cli.VolumeCreate(ctx, volume.CreateOptions{Name: containerNamePrefix + "facts-" + randomHex(8), Labels: labels})
	if err != nil {
		return FactsSession{}, fmt.Errorf("sandbox: probe facts: volume: %w", err)
	}
	var ctrID string
	closeFn := func() {
		cctx, cancel := m.cleanupCtx(ctx)
		defer cancel()
		if ctrID != "" {
			_ = m.cli.ContainerRemove(cctx, ctrID, container.RemoveOptions{Force: true})
		}
		_ = m.cli.VolumeRemove(cctx, vol.Name, true)
	}
	pids := int64(factsPids)
	cc := &container.Config{
		Image: m.cfg.ProbeImage, User: "root", Labels: labels, WorkingDir: "/",
		Entrypoint: []string{"/usr/local/bin/sbx-facts"},
		Cmd:        []string{"serve-runsc", info.ID, factsDir + "/sock", runscFactsRoot, runscFactsBin, runscFactsState},
	}
	hc := &container.HostConfig{
		Runtime:        RuntimeRunc,
		PidMode:        "host",
		NetworkMode:    "host",
		ReadonlyRootfs: true,
		Mounts:         append([]mount.Mount{{Type: mount.TypeVolume, Source: vol.Name, Target: factsDir}}, runscFactsMounts(bin, merged, info)...),
		CapDrop:        []string{"ALL"},
		SecurityOpt:    []string{"no-new-privileges"},
		LogConfig:      container.LogConfig{Type: "json-file", Config: map[string]string{"max-size": "100k", "max-file": "1"}},
		Resources: container.Resources{Memory: factsMemory, MemorySwap: factsMemory,
			NanoCPUs: int64(factsCPUs * 1e9), PidsLimit: &pids},
	}
	cr, err := m.cli.ContainerCreate(ctx, cc, hc, nil, nil, containerNamePrefix+"facts-"+randomHex(6))
	if err != nil {
		closeFn()
		return FactsSession{}, fmt.Errorf("sandbox: probe facts: create: %w", err)
	}
	ctrID = cr.ID
	if err := m.cli.ContainerStart(ctx, cr.ID, container.StartOptions{}); err != nil {
		closeFn()
		return FactsSession{}, fmt.Errorf("sandbox: probe facts: start: %w", err)
	}
	return FactsSession{
		Mounts: []mount.Mount{{Type: mount.TypeVolume, Source: vol.Name, Target: factsDir}},
		Env: []string{"SBX_FACTS=" + factsDir + "/sock", "SBX_PRISTINE=" + probePristine, "SANDBOX_ROOT=" + ProbeSandboxRoot,
			"SBX_HIDDEN=" + strings.Join(runscHidden(info), ":"), "SBX_NO_EXE=" + runscNoExe},
		Pristine: sums,
		Close:    closeFn,
	}, nil
}

// runscFactsMounts are the facts container's read-only views: the runsc
// binary, its state directory, the sandbox's overlay and, over it, the
// files the daemon binds into every container (Docker-owned host paths,
// never a path the candidate chose).
func runscFactsMounts(bin, merged string, info types.ContainerJSON) []mount.Mount {
	ro := func(src, dst string) mount.Mount {
		return mount.Mount{Type: mount.TypeBind, Source: src, Target: dst, ReadOnly: true}
	}
	// The daemon wants its own tree (overlay, container files) bound
	// rslave: the sandbox's removal then unmounts it here too.
	daemonRO := func(src, dst string) mount.Mount {
		m := ro(src, dst)
		m.BindOptions = &mount.BindOptions{Propagation: mount.PropagationRSlave}
		return m
	}
	ms := []mount.Mount{ro(bin, runscFactsBin), ro(runscStateDir, runscFactsState), daemonRO(merged, runscFactsRoot)}
	for _, d := range []struct{ src, dst string }{
		{info.HostsPath, "/etc/hosts"}, {info.ResolvConfPath, "/etc/resolv.conf"}, {info.HostnamePath, "/etc/hostname"},
	} {
		if d.src != "" {
			ms = append(ms, daemonRO(d.src, runscFactsRoot+d.dst))
		}
	}
	return ms
}

// runscHidden lists the sandbox paths whose content lives inside the
// sentry (or in a mount the facts container does not get): tmpfs mounts,
// other mounts, /dev, /proc and /sys.
func runscHidden(info types.ContainerJSON) []string {
	hidden := slices.Clone(runscAlwaysHidden)
	if info.HostConfig != nil {
		for p := range info.HostConfig.Tmpfs {
			hidden = append(hidden, p)
		}
	}
	for _, mp := range info.Mounts {
		if !slices.Contains(daemonFiles, mp.Destination) {
			hidden = append(hidden, mp.Destination)
		}
	}
	sort.Strings(hidden)
	return slices.Compact(hidden)
}

// runscBinary is the path of the runsc binary the daemon runs sandboxes
// with (its runtime registration), which the facts container binds.
func (m *Manager) runscBinary(ctx context.Context) (string, error) {
	info, err := m.cli.Info(ctx)
	if err != nil {
		return "", fmt.Errorf("sandbox: probe facts: daemon info: %w", err)
	}
	rt, ok := info.Runtimes[m.cfg.ociRuntime(NetworkNone)]
	if !ok || rt.Path == "" {
		return "", fmt.Errorf("sandbox: probe facts: the daemon has no runtime %q (scripts/setup-host.sh registers it)", m.cfg.ociRuntime(NetworkNone))
	}
	if !strings.HasPrefix(rt.Path, "/") {
		return "", fmt.Errorf("sandbox: probe facts: runtime %q has the relative path %s; register runsc by its absolute path", m.cfg.ociRuntime(NetworkNone), strconv.Quote(rt.Path))
	}
	return rt.Path, nil
}
