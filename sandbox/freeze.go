package sandbox

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"

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

// freezeKillScript kills the candidate's work (see StopTerminalWork). Args:
// $1 uid of the terminal user (or a user name, resolved in the sandbox's
// /etc/passwd), $2 "1" to skip processes of the caller's own mount
// namespace (the side container), $3 an environment entry marking the
// caller's own processes (the exec fallback), $4 number of passes.
// It prints one line per killed process.
const freezeKillScript = `uid=$1 skipmnt=$2 self=$3 passes=$4
case "$uid" in
''|*[!0-9]*) uid=$(sed -n "s/^$uid:[^:]*:\([0-9]*\):.*/\1/p" /proc/1/root/etc/passwd | head -n 1) ;;
esac
[ -n "$uid" ] || { echo "unknown terminal user" >&2; exit 2; }
mine=$(readlink /proc/self/ns/mnt)
n=0
while [ $n -lt "$passes" ]; do n=$((n+1))
for p in /proc/[0-9]*; do
  pid=${p#/proc/}
  [ "$pid" = 1 ] && continue
  if [ "$skipmnt" = 1 ] && [ "$(readlink "$p/ns/mnt" 2>/dev/null)" = "$mine" ]; then continue; fi
  if [ -n "$self" ] && tr '\0' '\n' < "$p/environ" 2>/dev/null | grep -qxF -- "$self"; then continue; fi
  st=$(cat "$p/stat" 2>/dev/null) || continue
  rest=${st##*) }
  set -- $rest
  tty=$5
  ids=$(sed -n 's/^Uid:[[:space:]]*\([0-9]*\)[[:space:]]*\([0-9]*\).*/\1 \2/p' "$p/status" 2>/dev/null)
  ruid=${ids% *} euid=${ids#* }
  kill=
  [ "$tty" != 0 ] && kill="terminal"
  [ "$uid" != 0 ] && { [ "$ruid" = "$uid" ] || [ "$euid" = "$uid" ]; } && kill="account"
  [ -z "$kill" ] && continue
  cmd=$(tr '\0' ' ' < "$p/cmdline" 2>/dev/null | cut -c1-80)
  kill -9 "$pid" 2>/dev/null && echo "$pid uid=$ruid $kill: $cmd"
done; done; exit 0`

// Freeze limits.
const (
	// freezeKillPasses is how often the exec fallback (no pause) walks the
	// process table: a fork-happy process may spawn during a pass. One
	// pass is enough in a paused sandbox.
	freezeKillPasses = 3
	freezeHelperPids = 32
	freezeHelperMem  = 64 << 20
)

// Pause freezes every process of sandbox id (docker pause) until Unpause.
// Pausing a paused sandbox is not an error. Exec does not work in a paused
// sandbox; copying files out and listing changes do.
func (m *Manager) Pause(ctx context.Context, id string) error {
	rec, err := m.lookup(id)
	if err != nil {
		return err
	}
	if err := m.cli.ContainerPause(ctx, rec.sb.ID); err != nil {
		if paused, ierr := m.paused(ctx, rec.sb.ID); ierr == nil && paused {
			return nil
		}
		return fmt.Errorf("sandbox: pause %s: %w", shortID(rec.sb.ID), err)
	}
	return nil
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
// are queued and happen at Unpause, before the processes run again. Under a
// runtime whose PID namespace a side container cannot join (runsc), it runs
// as the terminal user through an exec, which needs the sandbox running: a
// paused sandbox is thawed for a few passes of the kill and paused again,
// so there the freeze is not instantaneous.
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
		// Exec needs the sandbox running: thaw it for the kill passes and
		// pause it again after, so the caller's snapshot is still taken
		// from a paused sandbox.
		if paused, err := m.paused(ctx, rec.sb.ID); err == nil && paused {
			if err := m.cli.ContainerUnpause(ctx, rec.sb.ID); err != nil {
				return nil, fmt.Errorf("sandbox: stop terminal work in %s: unpause for the exec: %w", shortID(rec.sb.ID), err)
			}
			defer func() {
				if err := m.cli.ContainerPause(ctx, rec.sb.ID); err != nil {
					m.log.Warn("pause again after stopping terminal work", "id", shortID(rec.sb.ID), "err", err)
				}
			}()
		}
		marker := "OPSDOJO_FREEZE=" + randomHex(8)
		res, err := m.exec(ctx, rec.sb.ID, []string{"sh", "-c", freezeKillScript, "sh", uid, "0", marker, strconv.Itoa(freezeKillPasses)},
			execParams{user: user, env: []string{marker}, timeout: killTimeout, maxOutput: 64 << 10, noKill: true})
		if err != nil {
			return nil, fmt.Errorf("sandbox: stop terminal work in %s: %w", shortID(rec.sb.ID), err)
		}
		if res.ExitCode != 0 {
			return nil, fmt.Errorf("sandbox: stop terminal work in %s: exit %d: %s", shortID(rec.sb.ID), res.ExitCode, tail(res.Stdout, res.Stderr))
		}
		return lines(res.Stdout), nil
	}
	out, err := m.freezeHelper(ctx, rec, []string{"sh", "-c", freezeKillScript, "sh", uid, "1", "", "1"})
	if err != nil {
		return nil, fmt.Errorf("sandbox: stop terminal work in %s: %w", shortID(rec.sb.ID), err)
	}
	return lines(out), nil
}

// freezeHelper runs cmd in a side container (the probe image, else the
// sandbox's own image: a fresh copy, not the candidate's files) that joins
// the PID namespace of rec's sandbox, with only KILL and SYS_PTRACE (to
// read other users' /proc entries), no network, and returns its stdout.
// Unlike exec it works while the sandbox is paused.
func (m *Manager) freezeHelper(ctx context.Context, rec *record, cmd []string) ([]byte, error) {
	img := m.cfg.ProbeImage
	if img == "" {
		img = rec.sb.Image
	}
	labels := map[string]string{LabelManaged: "true", LabelProbe: rec.sb.ID}
	if m.cfg.Instance != "" {
		labels[LabelInstance] = m.cfg.Instance
	}
	pids := int64(freezeHelperPids)
	cc := &container.Config{Image: img, Cmd: cmd, Entrypoint: []string{}, Labels: labels, User: "root", WorkingDir: "/"}
	hc := &container.HostConfig{
		PidMode:     container.PidMode("container:" + rec.sb.ID),
		NetworkMode: "none",
		CapDrop:     []string{"ALL"}, CapAdd: []string{"KILL", "SYS_PTRACE"},
		SecurityOpt: []string{"no-new-privileges"},
		Runtime:     RuntimeRunc,
		LogConfig: container.LogConfig{Type: "json-file", Config: map[string]string{
			"max-size": m.cfg.LogMaxSize, "max-file": strconv.Itoa(m.cfg.LogMaxFiles)}},
		Resources: container.Resources{Memory: freezeHelperMem, MemorySwap: freezeHelperMem, NanoCPUs: 1e9, PidsLimit: &pids},
	}
	cr, err := m.cli.ContainerCreate(ctx, cc, hc, nil, nil, containerNamePrefix+"freeze-"+randomHex(6))
	if err != nil {
		return nil, fmt.Errorf("create helper: %w", err)
	}
	defer func() {
		cctx, cancel := m.cleanupCtx(ctx)
		defer cancel()
		_ = m.removeContainer(cctx, cr.ID, "", nil)
	}()
	waitC, errC := m.cli.ContainerWait(context.WithoutCancel(ctx), cr.ID, container.WaitConditionNextExit)
	if err := m.cli.ContainerStart(ctx, cr.ID, container.StartOptions{}); err != nil {
		return nil, fmt.Errorf("start helper: %w", err)
	}
	wctx, cancel := context.WithTimeout(ctx, killTimeout)
	defer cancel()
	var code int64
	select {
	case w := <-waitC:
		code = w.StatusCode
	case err := <-errC:
		return nil, fmt.Errorf("wait for helper: %w", err)
	case <-wctx.Done():
		return nil, fmt.Errorf("helper did not finish within %s: %w", killTimeout, wctx.Err())
	}
	rc, err := m.cli.ContainerLogs(ctx, cr.ID, container.LogsOptions{ShowStdout: true, ShowStderr: true})
	if err != nil {
		return nil, fmt.Errorf("helper output: %w", err)
	}
	defer rc.Close()
	stdout, stderr := &capBuffer{max: 64 << 10}, &capBuffer{max: 4 << 10}
	_, _ = stdcopy.StdCopy(stdout, stderr, rc)
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
// container (the freeze kills those processes itself).
func errPaused(err error) bool {
	return err != nil && (errdefs.IsConflict(err) || strings.Contains(err.Error(), "is paused")) && !errors.Is(err, ErrNotFound)
}
