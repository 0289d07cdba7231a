package sandbox

import (
	"context"
	"errors"
	"fmt"
	"io"
	"slices"
	"sync"
	"time"

	"github.com/docker/docker/api/types/container"
	"github.com/docker/docker/errdefs"
	"github.com/docker/docker/pkg/stdcopy"
)

// Environment markers: every exec and terminal carries a random marker in its
// environment, inherited by its children. Docker cannot kill an exec, so the
// Manager ends one by killing, from a second exec as the same user, every
// process whose environment holds the marker (see killMarked).
const (
	execMarkerEnv    = "OPSDOJO_EXEC"
	sessionMarkerEnv = "OPSDOJO_SESSION"
)

// Exec timings.
const (
	execPollStart   = 100 * time.Millisecond // first ExecInspect poll (stream EOF usually comes first)
	execPollEvery   = 100 * time.Millisecond
	execStreamGrace = 200 * time.Millisecond // after the process exited, wait this long for the stream
	exitCodeWait    = 2 * time.Second        // wait for Docker to report the exit code after EOF
	killTimeout     = 10 * time.Second
)

// killScript kills every process whose environment contains $1 (KEY=VALUE),
// in three passes (a fork-happy process may spawn while a pass runs).
// It needs only sh, grep -z and kill, and runs as the user of the processes
// (with CapDrop ALL, root cannot signal another uid).
const killScript = `n=0; while [ $n -lt 3 ]; do n=$((n+1));
for p in /proc/[0-9]*; do
  if grep -qzx -- "$1" "$p/environ" 2>/dev/null; then kill -9 "${p#/proc/}" 2>/dev/null; fi
done; done; exit 0`

type execParams struct {
	user      string
	env       []string
	workDir   string
	stdin     io.Reader
	timeout   time.Duration
	maxOutput int
	noKill    bool // the kill exec itself
}

// capBuffer keeps the first max bytes written and discards the rest,
// recording that it did. Writes never fail, so the stream keeps draining and
// the command is not blocked on a full pipe.
type capBuffer struct {
	mu        sync.Mutex
	buf       []byte
	max       int
	truncated bool
}

func (c *capBuffer) Write(p []byte) (int, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	room := c.max - len(c.buf)
	if room >= len(p) {
		c.buf = append(c.buf, p...)
		return len(p), nil
	}
	if room > 0 {
		c.buf = append(c.buf, p[:room]...)
	}
	c.truncated = true
	return len(p), nil
}

func (c *capBuffer) bytes() ([]byte, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	return slices.Clone(c.buf), c.truncated
}

// Exec runs cmd in sandbox id and waits for it, bounded by opts.Timeout: at
// the deadline (or when ctx ends) the command's processes are killed and
// TimedOut is set. Output beyond opts.MaxOutput is discarded and flagged.
func (m *Manager) Exec(ctx context.Context, id string, cmd []string, opts ExecOptions) (ExecResult, error) {
	rec, err := m.lookup(id)
	if err != nil {
		return ExecResult{}, err
	}
	if len(cmd) == 0 {
		return ExecResult{}, errors.New("sandbox: exec: empty command")
	}
	p := execParams{
		user: opts.User, env: append(slices.Clone(rec.env), opts.Env...), workDir: opts.WorkDir,
		stdin: opts.Stdin, timeout: opts.Timeout, maxOutput: opts.MaxOutput,
	}
	if p.user == "" {
		p.user = rec.sb.User
	}
	if p.timeout <= 0 {
		p.timeout = m.cfg.ExecTimeout
	}
	if p.maxOutput <= 0 {
		p.maxOutput = m.cfg.MaxExecOutput
	}
	return m.exec(ctx, rec.sb.ID, cmd, p)
}

func (m *Manager) exec(ctx context.Context, id string, cmd []string, p execParams) (ExecResult, error) {
	start := time.Now()
	marker := execMarkerEnv + "=" + randomHex(8)
	env := append(slices.Clone(p.env), marker)
	cr, err := m.cli.ContainerExecCreate(ctx, id, container.ExecOptions{
		User: p.user, Env: env, WorkingDir: p.workDir, Cmd: cmd,
		AttachStdin: p.stdin != nil, AttachStdout: true, AttachStderr: true,
	})
	if err != nil {
		if errdefs.IsNotFound(err) {
			return ExecResult{}, fmt.Errorf("sandbox: exec: %w: %s", ErrNotFound, shortID(id))
		}
		return ExecResult{}, fmt.Errorf("sandbox: exec create: %w", err)
	}
	hj, err := m.cli.ContainerExecAttach(ctx, cr.ID, container.ExecAttachOptions{})
	if err != nil {
		return ExecResult{}, fmt.Errorf("sandbox: exec start: %w", err)
	}
	defer hj.Close()
	if p.stdin != nil {
		go func() {
			_, _ = io.Copy(hj.Conn, p.stdin)
			_ = hj.CloseWrite()
		}()
	}
	stdout, stderr := &capBuffer{max: p.maxOutput}, &capBuffer{max: p.maxOutput}
	copied := make(chan struct{})
	go func() {
		defer close(copied)
		_, _ = stdcopy.StdCopy(stdout, stderr, hj.Reader)
	}()
	pollCtx, stopPoll := context.WithCancel(context.WithoutCancel(ctx))
	defer stopPoll()
	exited := make(chan struct{})
	go m.pollExit(pollCtx, cr.ID, exited)

	var res ExecResult
	var ctxErr error
	timer := time.NewTimer(p.timeout)
	defer timer.Stop()
	select {
	case <-copied:
	case <-exited:
		// The process is gone but a background child may hold the stream.
		select {
		case <-copied:
		case <-time.After(execStreamGrace):
		}
	case <-timer.C:
		res.TimedOut = true
	case <-ctx.Done():
		res.TimedOut = true
		ctxErr = ctx.Err()
	}
	stopPoll()
	cctx, cancel := m.cleanupCtx(ctx)
	defer cancel()
	if res.TimedOut && !p.noKill {
		m.killMarked(cctx, id, p.user, marker)
	}
	hj.Close()
	<-copied
	res.Stdout, res.StdoutTruncated = stdout.bytes()
	res.Stderr, res.StderrTruncated = stderr.bytes()
	res.ExitCode = -1
	deadline := time.Now().Add(exitCodeWait)
	for {
		ins, err := m.cli.ContainerExecInspect(cctx, cr.ID)
		if err != nil {
			break
		}
		if !ins.Running {
			res.ExitCode = ins.ExitCode
			break
		}
		if res.TimedOut && p.noKill || time.Now().After(deadline) {
			break
		}
		time.Sleep(10 * time.Millisecond)
	}
	res.Duration = time.Since(start)
	if ctxErr != nil {
		return res, fmt.Errorf("sandbox: exec: %w", ctxErr)
	}
	return res, nil
}

// pollExit closes exited when Docker reports the exec no longer running.
func (m *Manager) pollExit(ctx context.Context, execID string, exited chan<- struct{}) {
	t := time.NewTimer(execPollStart)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		ins, err := m.cli.ContainerExecInspect(ctx, execID)
		if err == nil && !ins.Running {
			close(exited)
			return
		}
		t.Reset(execPollEvery)
	}
}

// killMarked kills, as user, every process of container id whose environment
// contains marker (KEY=VALUE). Errors are logged: the container's removal is
// the backstop.
func (m *Manager) killMarked(ctx context.Context, id, user, marker string) {
	res, err := m.exec(ctx, id, []string{"sh", "-c", killScript, "sh", marker}, execParams{
		user: user, timeout: killTimeout, maxOutput: 4096, noKill: true,
	})
	if err == nil && res.ExitCode == 0 {
		return
	}
	// A sandbox being removed takes its processes with it: not a failure.
	m.mu.Lock()
	gone := m.findLocked(id) == nil
	m.mu.Unlock()
	if gone || errors.Is(err, ErrNotFound) {
		m.log.Debug("exec processes not killed: the sandbox is gone", "id", shortID(id), "err", err)
		return
	}
	if errPaused(err) { // a freeze (freeze.go) kills them itself
		m.log.Debug("exec processes not killed here: the sandbox is paused", "id", shortID(id))
		return
	}
	m.log.Warn("kill of exec processes failed", "id", shortID(id), "user", user, "err", err, "exit", res.ExitCode)
}
