package sandbox

import (
	"archive/tar"
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"path"
	"strconv"
	"strings"
	"sync"

	"github.com/docker/docker/api/types/container"
	"github.com/docker/docker/api/types/mount"
	"github.com/docker/docker/api/types/volume"
	"github.com/docker/docker/errdefs"
)

// Limits of the facts container and of the pristine package sums.
const (
	factsMemory     = 128 << 20
	factsPids       = 32
	factsCPUs       = 1.0
	factsDir        = "/run/opsdojo-facts"
	maxPristineSums = 32 << 20
)

// FactsSession is one grading run's view of a sandbox from outside its PID
// namespace: what the probe container must mount and know to reach it.
type FactsSession struct {
	Mounts   []mount.Mount // give the probe the facts socket
	Env      []string      // SBX_FACTS=… for the probe's helpers
	Pristine []byte        // "md5 pkg /path" lines from the sandbox's image
	Close    func()        // stop serving; idempotent enough to defer
}

// factsSource gathers a sandbox's process facts and hands out a descriptor
// of its root, from outside the sandbox's PID namespace. dockerFacts serves
// runc sandboxes; another runtime (gVisor, whose processes the host's /proc
// does not show) plugs in its own source here.
type factsSource interface {
	Attach(ctx context.Context, sandboxID string) (FactsSession, error)
}

func (m *Manager) factsSource() factsSource {
	if m.cfg.Runtime == RuntimeRunsc {
		return runscFacts{m: m} // facts_runsc.go
	}
	return dockerFacts{m: m}
}

// dockerFacts runs sbx-facts (our code from the probe image, never an
// author's) in a short-lived container in the host's PID namespace: no
// network, read-only root, CapDrop ALL + SYS_PTRACE + DAC_READ_SEARCH,
// no-new-privileges. It finds the sandbox's processes by the pid namespace
// of its init (ContainerInspect State.Pid) and answers on a unix socket in
// a volume mounted only into it and the probe. A parent PID namespace is
// invisible from its children, and nothing it does allocates a pid in the
// sandbox's namespace.
type dockerFacts struct{ m *Manager }

func (f dockerFacts) Attach(ctx context.Context, sandboxID string) (FactsSession, error) {
	m := f.m
	info, err := m.cli.ContainerInspect(ctx, sandboxID)
	if err != nil {
		return FactsSession{}, fmt.Errorf("sandbox: probe facts: inspect %s: %w", sandboxID, err)
	}
	if info.State == nil || !info.State.Running || info.State.Pid <= 0 {
		return FactsSession{}, fmt.Errorf("sandbox: probe facts: sandbox %s is not running", sandboxID)
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
		Cmd:        []string{"serve", strconv.Itoa(info.State.Pid), info.ID, factsDir + "/sock"},
	}
	hc := &container.HostConfig{
		PidMode:        "host",
		NetworkMode:    "none",
		ReadonlyRootfs: true,
		Mounts:         []mount.Mount{{Type: mount.TypeVolume, Source: vol.Name, Target: factsDir}},
		CapDrop:        []string{"ALL"}, CapAdd: []string{"SYS_PTRACE", "DAC_READ_SEARCH"},
		SecurityOpt: []string{"no-new-privileges"},
		LogConfig:   container.LogConfig{Type: "json-file", Config: map[string]string{"max-size": "100k", "max-file": "1"}},
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
		Mounts:   []mount.Mount{{Type: mount.TypeVolume, Source: vol.Name, Target: factsDir}},
		Env:      []string{"SBX_FACTS=" + factsDir + "/sock", "SBX_PRISTINE=" + probePristine, "SANDBOX_ROOT=" + ProbeSandboxRoot},
		Pristine: sums,
		Close:    closeFn,
	}, nil
}

// pristine caches the dpkg md5sums of images by image ID (a content hash,
// so one cache serves every Manager).
var pristine = struct {
	sync.Mutex
	sums map[string][]byte
}{sums: map[string][]byte{}}

// pristineSums returns "md5 pkg /path" lines for every file the packages
// of image imageID installed, read from the IMAGE (a created, never
// started container of it), not from the sandbox, whose /var/lib/dpkg the
// candidate may edit. An image without dpkg gives no lines.
func (m *Manager) pristineSums(ctx context.Context, imageID string) ([]byte, error) {
	pristine.Lock()
	defer pristine.Unlock()
	if s, ok := pristine.sums[imageID]; ok {
		return s, nil
	}
	cr, err := m.cli.ContainerCreate(ctx, &container.Config{Image: imageID, Entrypoint: []string{"true"}, Cmd: []string{},
		Labels: m.probeLabels("pristine")}, &container.HostConfig{NetworkMode: "none", LogConfig: container.LogConfig{Type: "none"}},
		nil, nil, containerNamePrefix+"pristine-"+randomHex(6))
	if err != nil {
		return nil, fmt.Errorf("sandbox: pristine sums of %s: create: %w", imageID, err)
	}
	defer func() {
		cctx, cancel := m.cleanupCtx(ctx)
		defer cancel()
		_ = m.cli.ContainerRemove(cctx, cr.ID, container.RemoveOptions{Force: true})
	}()
	rc, _, err := m.cli.CopyFromContainer(ctx, cr.ID, "/var/lib/dpkg/info")
	if errdefs.IsNotFound(err) {
		pristine.sums[imageID] = nil
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("sandbox: pristine sums of %s: copy: %w", imageID, err)
	}
	defer rc.Close()
	sums, err := parseMD5Sums(io.LimitReader(rc, maxPristineSums))
	if err != nil {
		return nil, fmt.Errorf("sandbox: pristine sums of %s: %w", imageID, err)
	}
	pristine.sums[imageID] = sums
	return sums, nil
}

// parseMD5Sums turns a tar of /var/lib/dpkg/info into "md5 pkg /path" lines.
func parseMD5Sums(r io.Reader) ([]byte, error) {
	var out strings.Builder
	tr := tar.NewReader(r)
	for {
		h, err := tr.Next()
		if errors.Is(err, io.EOF) {
			return []byte(out.String()), nil
		}
		if err != nil {
			return nil, fmt.Errorf("read dpkg info: %w", err)
		}
		base := path.Base(h.Name)
		if h.Typeflag != tar.TypeReg || !strings.HasSuffix(base, ".md5sums") {
			continue
		}
		pkg, _, _ := strings.Cut(strings.TrimSuffix(base, ".md5sums"), ":")
		sc := bufio.NewScanner(tr)
		sc.Buffer(make([]byte, 4096), 1<<20)
		for sc.Scan() {
			sum, p, ok := strings.Cut(sc.Text(), "  ")
			if !ok || len(sum) != 32 || p == "" {
				continue
			}
			fmt.Fprintf(&out, "%s %s /%s\n", sum, pkg, strings.TrimPrefix(p, "/"))
		}
	}
}
