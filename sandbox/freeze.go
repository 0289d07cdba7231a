package sandbox

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/docker/docker/api/types/container"
	"github.com/docker/docker/errdefs"
	"github.com/docker/docker/pkg/stdcopy"
)

// Freezing a sandbox at a submission.
//
// Pause stops every process of a sandbox at once (the cgroup freezer,
// `docker pause`): background loops, nohup'd jobs, processes that called
// setsid or scrubbed their environment — nothing runs, nothing forks.
// StopTerminalWork then queues SIGKILL for the candidate's own work; a
// SIGKILL queued on a frozen task takes effect when the sandbox is thawed,
// before the task runs another instruction of user code (checked on cgroup
// v1 by TestFreezeStopsTerminalWork). So what the candidate's programs could
// do after the freeze instant, they never do.
//
// Which processes are the candidate's work (StopTerminalWork):
//   - every process whose controlling terminal is a pty: only terminals
//     have one (setup, grading execs and services have none), so this is
//     what a hang-up would end — the command being typed, `cmd &`,
//     `nohup cmd &`, `env -i cmd &`;
//   - when the terminal user is not root, every process of that account,
//     whatever it did to its session or environment (`env -i setsid …`):
//     no service of a challenge runs as the candidate.
//
// When the candidate is root, a process that detached from the terminal
// (setsid, a daemon) keeps running: it cannot be told apart from a service
// the candidate (re)started as the fix (`cron`, `ingestctl restart`), and
// the grade must see those running as they were at the submit instant.
// Services the challenge runs under their own accounts are never touched.

// freezeKillScript kills the candidate's work in a runc sandbox (see
// StopTerminalWork; gVisor: freeze_runsc.go). Args: $1 uid of the terminal
// user, a user name (resolved in the sandbox's /etc/passwd) or "" for the
// caller's own uid; $2 number of passes over the process table. It prints
// one line per killed process. It spawns nothing per process (builtins
// only), so the only process of its own to spare is itself.
const freezeKillScript = `uid=$1 passes=$2
case "$uid" in
'') uid=$(id -u) ;;
*[!0-9]*) uid=$(sed -n "s/^$uid:[^:]*:\([0-9]*\):.*/\1/p" /proc/1/root/etc/passwd | head -n 1) ;;
esac
[ -n "$uid" ] || { echo "unknown terminal user" >&2; exit 2; }
n=0
while [ $n -lt "$passes" ]; do n=$((n+1))
for p in /proc/[0-9]*; do
  pid=${p#/proc/}
  if [ "$pid" = 1 ] || [ "$pid" = $$ ]; then continue; fi
  st=
  { read -r st < "$p/stat"; } 2>/dev/null
  [ -n "$st" ] || continue
  rest=${st##*) }
  set -- $rest
  tty=$5 ruid= euid=
  { while read -r k a b _; do if [ "$k" = Uid: ]; then ruid=$a euid=$b; break; fi; done < "$p/status"; } 2>/dev/null
  kill=
  [ "$tty" != 0 ] && kill=terminal
  if [ "$uid" != 0 ] && { [ "$ruid" = "$uid" ] || [ "$euid" = "$uid" ]; }; then kill=account; fi
  [ -n "$kill" ] || continue
  comm=
  { read -r comm < "$p/comm"; } 2>/dev/null
  kill -9 "$pid" 2>/dev/null && echo "$pid uid=$ruid $kill: $comm"
done; done; exit 0`

// Freeze limits.
const (
	// freezeKillPasses is how often the helper walks the process table of
	// a sandbox whose Pause failed: a fork-happy process may spawn during
	// a pass. One pass is enough in a paused sandbox.
	freezeKillPasses = 3
	freezeHelperPids = 32
	// pauseAttempts and pauseBackoff (doubled each time) bound Pause's
	// retries.
	pauseAttempts   = 5
	pauseBackoff    = 100 * time.Millisecond
	freezeHelperMem = 64 << 20
)

// Pause freezes every process of sandbox id (docker pause) until Unpause.
// Pausing a paused sandbox is not an error. Exec does not work in a paused
// sandbox; copying files out and listing changes do.
//
// Under gVisor (runsc), runsc signals no process of a paused sandbox, and
// thawing it to kill lets every timer that expired meanwhile fire first:
// there Pause stops the terminal work from outside the sandbox just before
// pausing (freeze_runsc.go: SIGSTOP, then SIGKILL, through runsc), and
// StopTerminalWork on the paused sandbox has nothing left to do.
func (m *Manager) Pause(ctx context.Context, id string) error {
	rec, err := m.lookup(id)
	if err != nil {
		return err
	}
	if m.cfg.Runtime != RuntimeRunc {
		if paused, err := m.paused(ctx, rec.sb.ID); err == nil && !paused {
			killed, err := m.stopRunsc(ctx, rec)
			if err != nil {
				return fmt.Errorf("sandbox: pause %s: %w", shortID(rec.sb.ID), err)
			}
			m.log.Info("terminal work stopped before the pause", "id", shortID(rec.sb.ID), "runtime", m.cfg.Runtime, "count", len(killed), "processes", strings.Join(killed, "; "))
		}
	}
	// runc's cgroup v1 freezer gives up ("unable to freeze") when a task
	// does not stop in time, e.g. on a busy host: try again a few times.
	var err2 error
	for i := range pauseAttempts {
		if err2 = m.cli.ContainerPause(ctx, rec.sb.ID); err2 == nil {
			return nil
		}
		if paused, ierr := m.paused(ctx, rec.sb.ID); ierr == nil && paused {
			return nil
		}
		if errdefs.IsNotFound(err2) || ctx.Err() != nil {
			break
		}
		m.log.Debug("pause failed; retrying", "id", shortID(rec.sb.ID), "try", i+1, "err", err2)
		select {
		case <-ctx.Done():
		case <-time.After(pauseBackoff << i):
		}
	}
	return fmt.Errorf("sandbox: pause %s: %w", shortID(rec.sb.ID), err2)
}

// Unpause thaws sandbox id. A sandbox that is not paused (or is gone) is
// not an error: Unpause is the cleanup of every freeze and runs after
// failures too.
func (m *Manager) Unpause(ctx context.Context, id string) error {
	m.mu.Lock()
	rec := m.findLocked(id)
	m.mu.Unlock()
	if rec == nil {
		return nil
	}
	if err := m.cli.ContainerUnpause(ctx, rec.sb.ID); err != nil {
		if errdefs.IsNotFound(err) {
			return nil
		}
		if paused, ierr := m.paused(ctx, rec.sb.ID); ierr == nil && !paused {
			return nil
		}
		return fmt.Errorf("sandbox: unpause %s: %w", shortID(rec.sb.ID), err)
	}
	return nil
}

func (m *Manager) paused(ctx context.Context, id string) (bool, error) {
	ins, err := m.cli.ContainerInspect(ctx, id)
	if err != nil {
		return false, err
	}
	return ins.State != nil && ins.State.Paused, nil
}

// StopTerminalWork kills the candidate's work in sandbox id (the rule is in
// the comment at the top of this file) and returns one line per process
// killed. In a paused sandbox (Pause first) it runs from a trusted side
// container that joins the sandbox's PID namespace with CAP_KILL: the kills
// are queued and happen at Unpause, before the processes run again. Under
// gVisor, whose PID namespace a side container cannot join, it stops and
// kills them through runsc from outside the sandbox, which needs the
// sandbox running: Pause does it just before pausing (see Pause), so there
// the kill and the pause are two instants, not one.
func (m *Manager) StopTerminalWork(ctx context.Context, id string) ([]string, error) {
	rec, err := m.lookup(id)
	if err != nil {
		return nil, err
	}
	user := rec.sb.User
	if user == "" {
		user = "root"
	}
	uid := user
	if user == "root" {
		uid = "0"
	}
	if m.cfg.Runtime != RuntimeRunc {
		if paused, err := m.paused(ctx, rec.sb.ID); err == nil && paused {
			return nil, nil // Pause did it, just before pausing
		}
		return m.stopRunsc(ctx, rec)
	}
	passes := 1 // nothing runs in a paused sandbox
	if paused, err := m.paused(ctx, rec.sb.ID); err != nil || !paused {
		passes = freezeKillPasses // Pause failed: processes may fork meanwhile
	}
	out, err := m.freezeHelper(ctx, rec, []string{"sh", "-c", freezeKillScript, "sh", uid, strconv.Itoa(passes)}, killTimeout, func(hc *container.HostConfig) {
		hc.PidMode = container.PidMode("container:" + rec.sb.ID)
		hc.CapAdd = []string{"KILL", "SYS_PTRACE"}
	})
	if err != nil {
		return nil, fmt.Errorf("sandbox: stop terminal work in %s: %w", shortID(rec.sb.ID), err)
	}
	return lines(out), nil
}

// freezeHelper runs cmd in a runc side container (the probe image, else,
// under runc, the sandbox's own image: a fresh copy, not the candidate's
// files) with no capability, no network, and what configure adds: under
// runc it joins the PID namespace of rec's sandbox with only KILL and
// SYS_PTRACE (to read other users' /proc entries), which works while the
// sandbox is paused, unlike exec; under runsc see stopRunsc. It returns
// the helper's stdout.
func (m *Manager) freezeHelper(ctx context.Context, rec *record, cmd []string, timeout time.Duration, configure func(*container.HostConfig)) ([]byte, error) {
	img := m.cfg.ProbeImage
	if img == "" {
		if m.cfg.Runtime != RuntimeRunc {
			// It runs the host's runsc in the host's namespaces: only our
			// own image, never one a hibernation may have built.
			return nil, errors.New("the freeze of a gVisor sandbox needs the probe image (Config.ProbeImage)")
		}
		img = rec.sb.Image
	}
	labels := map[string]string{LabelManaged: "true", LabelProbe: rec.sb.ID}
	if m.cfg.Instance != "" {
		labels[LabelInstance] = m.cfg.Instance
	}
	pids := int64(freezeHelperPids)
	cc := &container.Config{Image: img, Cmd: cmd, Entrypoint: []string{}, Labels: labels, User: "root", WorkingDir: "/",
		AttachStdout: true, AttachStderr: true}
	hc := &container.HostConfig{
		NetworkMode: "none",
		CapDrop:     []string{"ALL"},
		SecurityOpt: []string{"no-new-privileges"},
		Runtime:     RuntimeRunc,
		LogConfig: container.LogConfig{Type: "json-file", Config: map[string]string{
			"max-size": m.cfg.LogMaxSize, "max-file": strconv.Itoa(m.cfg.LogMaxFiles)}},
		Resources: container.Resources{Memory: freezeHelperMem, MemorySwap: freezeHelperMem, NanoCPUs: 1e9, PidsLimit: &pids},
	}
	configure(hc)
	cr, err := m.cli.ContainerCreate(ctx, cc, hc, nil, nil, containerNamePrefix+"freeze-"+randomHex(6))
	if err != nil {
		return nil, fmt.Errorf("create helper: %w", err)
	}
	defer func() {
		cctx, cancel := m.cleanupCtx(ctx)
		defer cancel()
		_ = m.removeContainer(cctx, cr.ID, "", nil)
	}()
	// Attached before the start: ContainerLogs right after the exit can
	// miss the last lines.
	hj, err := m.cli.ContainerAttach(ctx, cr.ID, container.AttachOptions{Stream: true, Stdout: true, Stderr: true})
	if err != nil {
		return nil, fmt.Errorf("attach to helper: %w", err)
	}
	defer hj.Close()
	stdout, stderr := &capBuffer{max: 64 << 10}, &capBuffer{max: 4 << 10}
	copied := make(chan struct{})
	go func() {
		defer close(copied)
		_, _ = stdcopy.StdCopy(stdout, stderr, hj.Reader)
	}()
	waitC, errC := m.cli.ContainerWait(context.WithoutCancel(ctx), cr.ID, container.WaitConditionNextExit)
	if err := m.cli.ContainerStart(ctx, cr.ID, container.StartOptions{}); err != nil {
		return nil, fmt.Errorf("start helper: %w", err)
	}
	wctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	var code int64
	select {
	case w := <-waitC:
		code = w.StatusCode
	case err := <-errC:
		return nil, fmt.Errorf("wait for helper: %w", err)
	case <-wctx.Done():
		return nil, fmt.Errorf("helper did not finish within %s: %w", timeout, wctx.Err())
	}
	select {
	case <-copied:
	case <-time.After(execStreamGrace):
		hj.Close()
		<-copied
	}
	out, _ := stdout.bytes()
	if code != 0 {
		errOut, _ := stderr.bytes()
		return out, fmt.Errorf("helper exited with %d: %s", code, strings.TrimSpace(string(errOut)))
	}
	return out, nil
}

func lines(b []byte) []string {
	var out []string
	for _, l := range strings.Split(strings.TrimSpace(string(b)), "\n") {
		if l != "" {
			out = append(out, l)
		}
	}
	return out
}

// errPaused reports whether err is Docker refusing an exec in a paused
// container (the freeze kills those processes itself): the daemon answers
// that with a conflict (errdefs), recognised by its type, not its text.
func errPaused(err error) bool {
	return err != nil && errdefs.IsConflict(err) && !errors.Is(err, ErrNotFound)
}
