package sandbox

import (
	"archive/tar"
	"bytes"
	"context"
	"errors"
	"fmt"
	"strconv"
	"time"

	"github.com/docker/docker/api/types/container"
	"github.com/docker/docker/pkg/stdcopy"
)

// Probe container limits.
const (
	probeMemory = 256 << 20
	probePids   = 128
	probeCPUs   = 1.0
	// ProbeSandboxRoot is where a probe sees the sandbox's filesystem: a
	// symlink to /proc/1/fd/10, the descriptor of the sandbox's root that
	// sbx-init (the probe's pid 1) received from the facts container. Paths
	// walked below it can still be raced by the candidate and absolute
	// symlinks met there resolve against the probe's root: check scripts
	// read candidate paths with sbx-path (private snapshot) or sbx-cat,
	// which open them in one step with openat2(RESOLVE_IN_ROOT).
	ProbeSandboxRoot = "/sandbox-root"
	probeRootFD      = 10
	// probePristine is the sandbox image's dpkg md5sums ("md5 pkg /path"
	// lines) in the probe, for sbx-exe/sbx-port's verified=yes|no.
	probePristine = "/opsdojo/pristine.md5sums"
)

// Probe runs p.Cmd in a trusted side container (Config.ProbeImage) that
// joins the network namespace of sandbox id (checks reach its services on
// localhost) but NOT its PID namespace: the candidate, root in the sandbox,
// can neither see the probe's processes, nor watch ns_last_pid move, nor
// signal them. Process facts and the sandbox's root come from a facts
// source outside the sandbox's PID namespace (see procfacts.go); p.Cmd runs
// under sbx-init, which holds the root descriptor. The probe's Files are
// copied into the probe container, never into the sandbox. It has CapDrop
// ALL plus SYS_PTRACE, DAC_READ_SEARCH (to read the sandbox through the
// descriptor), CHOWN and FOWNER (sbx-path snapshots keep owners and modes),
// no-new-privileges, and is removed afterwards.
func (m *Manager) Probe(ctx context.Context, id string, p ProbeSpec) (ExecResult, error) {
	m.mu.Lock()
	rec := m.findLocked(id)
	m.mu.Unlock()
	if rec == nil {
		return ExecResult{}, fmt.Errorf("%w: %s", ErrNotFound, id)
	}
	if m.cfg.ProbeImage == "" {
		return ExecResult{}, errors.New("sandbox: probe: no probe image configured")
	}
	if len(p.Cmd) == 0 {
		return ExecResult{}, errors.New("sandbox: probe: empty command")
	}
	if p.Timeout <= 0 {
		p.Timeout = m.cfg.ExecTimeout
	}
	if p.MaxOutput <= 0 {
		p.MaxOutput = m.cfg.MaxExecOutput
	}
	start := time.Now()
	labels := m.probeLabels(rec.sb.ID)
	facts, err := m.factsSource().Attach(ctx, rec.sb.ID)
	if err != nil {
		return ExecResult{}, err
	}
	defer facts.Close()
	pids := int64(probePids)
	cc := &container.Config{
		Image: m.cfg.ProbeImage, Cmd: p.Cmd, Entrypoint: []string{"/usr/local/bin/sbx-init"},
		Env: append(append([]string(nil), p.Env...), facts.Env...), Labels: labels, User: "root",
		AttachStdout: true, AttachStderr: true, WorkingDir: "/",
	}
	hc := &container.HostConfig{
		NetworkMode: container.NetworkMode("container:" + rec.sb.ID),
		Mounts:      facts.Mounts,
		CapDrop:     []string{"ALL"}, CapAdd: []string{"SYS_PTRACE", "DAC_READ_SEARCH", "CHOWN", "FOWNER"},
		SecurityOpt: []string{"no-new-privileges"},
		LogConfig: container.LogConfig{Type: "json-file", Config: map[string]string{
			"max-size": m.cfg.LogMaxSize, "max-file": strconv.Itoa(m.cfg.LogMaxFiles)}},
		Resources: container.Resources{Memory: probeMemory, MemorySwap: probeMemory,
			NanoCPUs: int64(probeCPUs * 1e9), PidsLimit: &pids},
	}
	cr, err := m.cli.ContainerCreate(ctx, cc, hc, nil, nil, containerNamePrefix+"probe-"+randomHex(6))
	if err != nil {
		return ExecResult{}, fmt.Errorf("sandbox: probe: create: %w", err)
	}
	defer func() {
		cctx, cancel := m.cleanupCtx(ctx)
		defer cancel()
		_ = m.removeContainer(cctx, cr.ID, "", nil)
	}()
	files := append([]File{{Path: probePristine, Mode: 0o644, Content: facts.Pristine}}, p.Files...)
	tr, err := probeTar(files)
	if err != nil {
		return ExecResult{}, err
	}
	if err := m.copyIn(ctx, cr.ID, "/", tr); err != nil {
		return ExecResult{}, fmt.Errorf("sandbox: probe: %w", err)
	}
	hj, err := m.cli.ContainerAttach(ctx, cr.ID, container.AttachOptions{Stream: true, Stdout: true, Stderr: true})
	if err != nil {
		return ExecResult{}, fmt.Errorf("sandbox: probe: attach: %w", err)
	}
	defer hj.Close()
	stdout, stderr := &capBuffer{max: p.MaxOutput}, &capBuffer{max: p.MaxOutput}
	copied := make(chan struct{})
	go func() {
		defer close(copied)
		_, _ = stdcopy.StdCopy(stdout, stderr, hj.Reader)
	}()
	waitC, errC := m.cli.ContainerWait(context.WithoutCancel(ctx), cr.ID, container.WaitConditionNextExit)
	if err := m.cli.ContainerStart(ctx, cr.ID, container.StartOptions{}); err != nil {
		return ExecResult{}, fmt.Errorf("sandbox: probe: start: %w", err)
	}
	res := ExecResult{ExitCode: -1}
	timer := time.NewTimer(p.Timeout)
	defer timer.Stop()
	var ctxErr error
	select {
	case w := <-waitC:
		res.ExitCode = int(w.StatusCode)
	case err := <-errC:
		ctxErr = fmt.Errorf("sandbox: probe: wait: %w", err)
	case <-timer.C:
		res.TimedOut = true
	case <-ctx.Done():
		res.TimedOut = true
		ctxErr = fmt.Errorf("sandbox: probe: %w", ctx.Err())
	}
	if res.TimedOut {
		cctx, cancel := m.cleanupCtx(ctx)
		_ = m.cli.ContainerKill(cctx, cr.ID, "KILL")
		cancel()
	}
	select {
	case <-copied:
	case <-time.After(execStreamGrace):
		hj.Close()
		<-copied
	}
	res.Stdout, res.StdoutTruncated = stdout.bytes()
	res.Stderr, res.StderrTruncated = stderr.bytes()
	res.Duration = time.Since(start)
	return res, ctxErr
}

func (m *Manager) probeLabels(sandboxID string) map[string]string {
	labels := map[string]string{LabelManaged: "true", LabelProbe: sandboxID}
	if m.cfg.Instance != "" {
		labels[LabelInstance] = m.cfg.Instance
	}
	return labels
}

// probeTar is the probe's Files plus the /sandbox-root symlink.
func probeTar(files []File) (*bytes.Buffer, error) {
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	if err := tw.WriteHeader(&tar.Header{Name: ProbeSandboxRoot[1:], Typeflag: tar.TypeSymlink,
		Linkname: "/proc/1/fd/" + strconv.Itoa(probeRootFD), Mode: 0o777}); err != nil {
		return nil, fmt.Errorf("sandbox: probe tar: %w", err)
	}
	for _, f := range files {
		if err := checkFilePath(f.Path); err != nil {
			return nil, err
		}
		mode := f.Mode.Perm()
		if mode == 0 {
			mode = 0o755
		}
		if err := tw.WriteHeader(&tar.Header{Name: f.Path[1:], Mode: int64(mode), Size: int64(len(f.Content)),
			Uid: f.UID, Gid: f.GID, Typeflag: tar.TypeReg, ModTime: time.Now()}); err != nil {
			return nil, fmt.Errorf("sandbox: probe tar: %w", err)
		}
		if _, err := tw.Write(f.Content); err != nil {
			return nil, fmt.Errorf("sandbox: probe tar: %w", err)
		}
	}
	if err := tw.Close(); err != nil {
		return nil, fmt.Errorf("sandbox: probe tar: %w", err)
	}
	return &buf, nil
}
