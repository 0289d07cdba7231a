package sandbox

// Image builds and short-lived runs of candidate images, for the grader's
// docker_build checks. The grader decides what may be built (its build
// policy checks every Dockerfile before it gets here) and what the
// candidate reads; this file is the Docker side: the daemon's options, the
// hardened run, bounded reads, removal. Containers made here are not
// sandboxes of the Manager (no TTL, no pool, no reaper): the caller removes
// them, and the images it builds, when its check is done.

import (
	"archive/tar"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"maps"
	"slices"
	"strings"
	"time"

	"github.com/docker/docker/api/types/build"
	"github.com/docker/docker/api/types/container"
	"github.com/docker/docker/api/types/image"
	"github.com/docker/docker/client"
	"github.com/docker/docker/errdefs"
	"github.com/docker/docker/pkg/jsonmessage"
	"github.com/docker/docker/pkg/stdcopy"
)

// Limits of candidate image builds and of the containers run from them.
const (
	BuildMemory = 1 << 30 // bytes, RUN steps of a build (swap included)
	BuildCPUs   = 1.0     // CPUs, RUN steps of a build
	RunMemory   = 256 << 20
	RunCPUs     = 0.5
	RunPids     = 128
	// A helper container joined to a run's network (a port probe).
	HelperMemory = 128 << 20
	HelperPids   = 64
	// Reads from the daemon: a container's log tail, a command's output.
	maxRunLogRead = 4 << 20
	runLogMaxSize = "1m" // json-file max-size of a run's log
	// Removing a helper container, after its run or its caller's deadline.
	helperRemoveTimeout = 30 * time.Second
	helperLogLines      = 40
)

// ErrNotRunning is returned by RunHelper when the container whose network
// it should join is not running (it exited or is exiting).
var ErrNotRunning = errors.New("the container is not running")

// ImageBuilder builds images from candidate contexts and runs them,
// hardened, on the daemon behind cli. Safe for concurrent use.
type ImageBuilder struct {
	cli *client.Client
}

// NewImageBuilder returns an ImageBuilder on cli.
func NewImageBuilder(cli *client.Client) *ImageBuilder { return &ImageBuilder{cli: cli} }

// ImageInfo is what callers need to know of a local image.
type ImageInfo struct {
	Size    int64    // bytes
	Env     []string // KEY=VALUE, from the image config
	OnBuild []string // the image's ONBUILD triggers
}

// LookupImage inspects ref in the daemon's local store; found is false when
// it is not there. It never pulls.
func (b *ImageBuilder) LookupImage(ctx context.Context, ref string) (info ImageInfo, found bool, err error) {
	ins, err := b.cli.ImageInspect(ctx, ref)
	if errdefs.IsNotFound(err) {
		return ImageInfo{}, false, nil
	}
	if err != nil {
		return ImageInfo{}, false, unavailable(fmt.Errorf("inspect image %s: %w", ref, err))
	}
	info.Size = ins.Size
	if ins.Config != nil {
		info.Env, info.OnBuild = ins.Config.Env, ins.Config.OnBuild
	}
	return info, true, nil
}

// BuildSpec is one image build.
type BuildSpec struct {
	Context    io.Reader // tar of the build context, files at its root
	Dockerfile string    // its path in the context
	Tag        string
	Labels     map[string]string
}

// buildOptions are the daemon's build options: the classic builder with
// no network for RUN steps, limits, no pull of a newer parent (the classic
// builder pulls a missing base whatever PullParent says: callers refuse
// those before building), no build args, no remote context, no extra
// hosts, the daemon's own platform.
func buildOptions(s BuildSpec) build.ImageBuildOptions {
	return build.ImageBuildOptions{
		Tags: []string{s.Tag}, Dockerfile: s.Dockerfile, NetworkMode: "none",
		Memory: BuildMemory, MemorySwap: BuildMemory, CPUPeriod: 100000, CPUQuota: int64(BuildCPUs * 100000),
		Remove: true, ForceRemove: true, PullParent: false, Version: build.BuilderV1,
		Labels: maps.Clone(s.Labels),
	}
}

// BuildRejectedError is the daemon refusing a build before it starts (a
// Dockerfile it cannot parse, a missing file): Msg is the daemon's message.
type BuildRejectedError struct{ Msg string }

func (e *BuildRejectedError) Error() string { return "the daemon refused the build: " + e.Msg }

// Build builds s.Context into s.Tag (see buildOptions). The text the build
// prints (its steps and what RUN steps write) goes to log, message by
// message, in order. failure is the daemon's message when the build ran and
// failed. err is ErrUnavailable (wrapped) when the daemon cannot be reached,
// a *BuildRejectedError when it refused the build, or ctx's error.
func (b *ImageBuilder) Build(ctx context.Context, s BuildSpec, log io.Writer) (failure string, err error) {
	resp, err := b.cli.ImageBuild(ctx, s.Context, buildOptions(s))
	if err != nil {
		switch {
		case ctx.Err() != nil:
			return "", ctx.Err()
		case client.IsErrConnectionFailed(err):
			return "", unavailable(fmt.Errorf("start build: %w", err))
		}
		return "", &BuildRejectedError{Msg: err.Error()}
	}
	defer resp.Body.Close()
	failure = copyBuildStream(resp.Body, log)
	if ctx.Err() != nil {
		return failure, ctx.Err()
	}
	return failure, nil
}

// copyBuildStream writes the stream text of the daemon's JSON build
// messages to w and returns the last error message, if any.
func copyBuildStream(r io.Reader, w io.Writer) (errMsg string) {
	dec := json.NewDecoder(r)
	for {
		var m jsonmessage.JSONMessage
		if err := dec.Decode(&m); err != nil {
			return errMsg
		}
		if m.Error != nil {
			errMsg = m.Error.Message
		}
		if m.Stream != "" {
			_, _ = io.WriteString(w, m.Stream)
		}
	}
}

// RemoveImage deletes ref and its untagged parents; an image that is
// already gone is not an error.
func (b *ImageBuilder) RemoveImage(ctx context.Context, ref string) error {
	_, err := b.cli.ImageRemove(ctx, ref, image.RemoveOptions{Force: true, PruneChildren: true})
	if err != nil && !errdefs.IsNotFound(err) {
		return unavailable(fmt.Errorf("remove image %s: %w", ref, err))
	}
	return nil
}

// RunSpec is a container made from a built image.
type RunSpec struct {
	Image  string
	Name   string // container name; empty: the daemon picks one
	Labels map[string]string
	Env    []string // KEY=VALUE for the container's processes
	Files  []File   // copied into the container before it starts (secret files)
}

// CreateRun creates a container of s.Image with the run baseline: no
// network, no capabilities, no new privileges, an init, RunMemory (no
// swap), RunCPUs, RunPids, a capped json-file log. Start it with Start;
// remove it with RemoveContainer.
func (b *ImageBuilder) CreateRun(ctx context.Context, s RunSpec) (id string, err error) {
	pids := int64(RunPids)
	init := true
	cr, err := b.cli.ContainerCreate(ctx, &container.Config{Image: s.Image, Labels: maps.Clone(s.Labels), Env: slices.Clone(s.Env)},
		&container.HostConfig{
			NetworkMode: "none", CapDrop: []string{"ALL"}, SecurityOpt: []string{"no-new-privileges"},
			Init: &init, LogConfig: container.LogConfig{Type: "json-file", Config: map[string]string{"max-size": runLogMaxSize, "max-file": "1"}},
			Resources: container.Resources{Memory: RunMemory, MemorySwap: RunMemory, NanoCPUs: int64(RunCPUs * 1e9), PidsLimit: &pids},
		}, nil, nil, s.Name)
	if err != nil {
		return "", unavailable(err)
	}
	if len(s.Files) > 0 {
		tr, err := filesTar(s.Files)
		if err == nil {
			err = b.cli.CopyToContainer(ctx, cr.ID, "/", tr, container.CopyToContainerOptions{})
		}
		if err != nil {
			return cr.ID, unavailable(fmt.Errorf("copy files into the run: %w", err))
		}
	}
	return cr.ID, nil
}

// Start starts a created container.
func (b *ImageBuilder) Start(ctx context.Context, id string) error {
	return unavailable(b.cli.ContainerStart(ctx, id, container.StartOptions{}))
}

// RemoveContainer removes a container (running or not) and its volumes;
// one that is already gone is not an error.
func (b *ImageBuilder) RemoveContainer(ctx context.Context, id string) error {
	err := b.cli.ContainerRemove(ctx, id, container.RemoveOptions{Force: true, RemoveVolumes: true})
	if err != nil && !errdefs.IsNotFound(err) {
		return unavailable(fmt.Errorf("remove container %s: %w", shortID(id), err))
	}
	return nil
}

// RunState is the state of a container.
type RunState struct {
	Running   bool
	ExitCode  int
	OOMKilled bool
	Pid       int // host pid of its first process (the init), 0 when not running
}

// State inspects a container's state.
func (b *ImageBuilder) State(ctx context.Context, id string) (RunState, error) {
	ins, err := b.cli.ContainerInspect(ctx, id)
	if err != nil {
		return RunState{}, unavailable(fmt.Errorf("inspect container %s: %w", shortID(id), err))
	}
	if ins.ContainerJSONBase == nil || ins.State == nil {
		return RunState{}, fmt.Errorf("inspect container %s: no state", shortID(id))
	}
	return RunState{Running: ins.State.Running, ExitCode: ins.State.ExitCode, OOMKilled: ins.State.OOMKilled, Pid: ins.State.Pid}, nil
}

// Logs writes the last lines of a container's output (stdout and stderr
// together) to w, reading at most 4 MiB from the daemon.
func (b *ImageBuilder) Logs(ctx context.Context, id string, lines int, w io.Writer) error {
	rc, err := b.cli.ContainerLogs(ctx, id, container.LogsOptions{ShowStdout: true, ShowStderr: true, Tail: fmt.Sprint(lines)})
	if err != nil {
		return unavailable(fmt.Errorf("logs of container %s: %w", shortID(id), err))
	}
	defer rc.Close()
	_, err = stdcopy.StdCopy(w, w, io.LimitReader(rc, maxRunLogRead))
	return err
}

// Exec runs cmd in a running container (as its user) until it exits or ctx
// ends, and returns its exit code and up to maxOut bytes of its output
// (stdout and stderr together). When ctx ends first, the output so far is
// returned with ctx's error.
func (b *ImageBuilder) Exec(ctx context.Context, id string, cmd []string, maxOut int64) (code int, out string, err error) {
	ex, err := b.cli.ContainerExecCreate(ctx, id, container.ExecOptions{Cmd: cmd, AttachStdout: true, AttachStderr: true})
	if err != nil {
		return 0, "", unavailable(err)
	}
	hj, err := b.cli.ContainerExecAttach(ctx, ex.ID, container.ExecAttachOptions{})
	if err != nil {
		return 0, "", unavailable(err)
	}
	defer hj.Close()
	var buf strings.Builder
	done := make(chan struct{})
	go func() { _, _ = stdcopy.StdCopy(&buf, &buf, io.LimitReader(hj.Reader, maxOut)); close(done) }()
	select {
	case <-done:
	case <-ctx.Done():
		hj.Close()
		<-done
		return 0, buf.String(), ctx.Err()
	}
	ins, err := b.cli.ContainerExecInspect(ctx, ex.ID)
	if err != nil {
		return 0, buf.String(), unavailable(err)
	}
	return ins.ExitCode, buf.String(), nil
}

// Processes lists a container's processes with ps (psArgs, e.g. -o
// pid,ppid,uid,etimes), run by the daemon on the host: nothing in the
// container can fake it.
func (b *ImageBuilder) Processes(ctx context.Context, id string, psArgs []string) (titles []string, procs [][]string, err error) {
	top, err := b.cli.ContainerTop(ctx, id, psArgs)
	if err != nil {
		return nil, nil, unavailable(fmt.Errorf("processes of container %s: %w", shortID(id), err))
	}
	return top.Titles, top.Processes, nil
}

// ReadFile returns up to max bytes of a regular file of a container,
// copied through the daemon (the container's mounts and symlinks resolve
// inside it).
func (b *ImageBuilder) ReadFile(ctx context.Context, id, path string, max int64) ([]byte, error) {
	rc, _, err := b.cli.CopyFromContainer(ctx, id, path)
	if err != nil {
		return nil, unavailable(fmt.Errorf("copy %s from container %s: %w", path, shortID(id), err))
	}
	defer rc.Close()
	tr := tar.NewReader(rc)
	hdr, err := tr.Next()
	if err != nil {
		return nil, fmt.Errorf("copy %s from container %s: %w", path, shortID(id), err)
	}
	if hdr.Typeflag != tar.TypeReg {
		return nil, fmt.Errorf("%s in container %s is not a regular file", path, shortID(id))
	}
	return io.ReadAll(io.LimitReader(tr, max))
}

// HelperSpec is a short-lived helper container that joins the network
// namespace of another container (only that: not its PIDs, not its files).
type HelperSpec struct {
	Image     string
	Cmd       []string // run with the image's entrypoint cleared
	NetworkOf string   // id of the container whose network it joins
	// PIDOf also joins that container's PID namespace, with SYS_PTRACE
	// (to read /proc/PID/exe of its processes): for looking at what it
	// runs from outside, with the helper's own tools.
	PIDOf  bool
	Name   string
	Labels map[string]string
}

// RunHelper runs s to its end with no capabilities, no new privileges,
// HelperMemory and HelperPids, writes the last lines (at most 40) of its
// output to out and returns its exit code; the helper is removed before
// it returns. ErrNotRunning: s.NetworkOf stopped before the helper could join
// it. When ctx ends first, its error is returned.
func (b *ImageBuilder) RunHelper(ctx context.Context, s HelperSpec, out io.Writer) (code int, err error) {
	pids := int64(HelperPids)
	cr, err := b.cli.ContainerCreate(ctx, &container.Config{Image: s.Image, Cmd: s.Cmd, Entrypoint: []string{}, Labels: maps.Clone(s.Labels)},
		helperHostConfig(s, pids), nil, nil, s.Name)
	if err != nil {
		return 0, unavailable(fmt.Errorf("create helper: %w", err))
	}
	defer func() {
		cctx, cancel := b.cleanupCtx(ctx)
		defer cancel()
		_ = b.RemoveContainer(cctx, cr.ID)
	}()
	waitC, errC := b.cli.ContainerWait(ctx, cr.ID, container.WaitConditionNextExit)
	if err := b.cli.ContainerStart(ctx, cr.ID, container.StartOptions{}); err != nil {
		// Joining the namespace of a container that is exiting fails in
		// more than one way (the daemon's conflict "non running container",
		// runc's "can't get final child's PID"): the error's type or the
		// container itself says so, never the error's text.
		if st, serr := b.State(ctx, s.NetworkOf); errdefs.IsConflict(err) || (serr == nil && !st.Running) {
			return 0, ErrNotRunning
		}
		return 0, unavailable(fmt.Errorf("start helper: %w", err))
	}
	select {
	case w := <-waitC:
		code = int(w.StatusCode)
	case err := <-errC:
		return 0, unavailable(fmt.Errorf("wait for helper: %w", err))
	case <-ctx.Done():
		return 0, ctx.Err()
	}
	_ = b.Logs(ctx, cr.ID, helperLogLines, out)
	return code, nil
}

// cleanupCtx is a context for removing what a call made: detached from
// ctx's cancellation (a check that timed out still cleans up), with its own
// deadline.
func (b *ImageBuilder) cleanupCtx(ctx context.Context) (context.Context, context.CancelFunc) {
	return context.WithTimeout(context.WithoutCancel(ctx), helperRemoveTimeout)
}

func helperHostConfig(s HelperSpec, pids int64) *container.HostConfig {
	hc := &container.HostConfig{NetworkMode: container.NetworkMode("container:" + s.NetworkOf), CapDrop: []string{"ALL"}, SecurityOpt: []string{"no-new-privileges"},
		Resources: container.Resources{Memory: HelperMemory, MemorySwap: HelperMemory, PidsLimit: &pids}}
	if s.PIDOf {
		hc.PidMode = container.PidMode("container:" + s.NetworkOf)
		hc.CapAdd = []string{"SYS_PTRACE"}
	}
	return hc
}
