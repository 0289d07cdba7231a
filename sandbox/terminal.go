package sandbox

import (
	"context"
	"fmt"
	"slices"
	"sync"
	"time"

	"github.com/docker/docker/api/types"
	"github.com/docker/docker/api/types/container"
	"github.com/docker/docker/errdefs"
)

// Terminal timings.
const (
	resizeAttempts = 30                    // ~1 s in all: the exec may not run yet under load
	resizeBackoff  = 10 * time.Millisecond // doubled up to resizeMaxWait
	resizeMaxWait  = 50 * time.Millisecond
	defaultTerm    = "xterm-256color"
)

// defaultShell starts a login shell: bash when the image has it, else sh.
var defaultShell = []string{"/bin/sh", "-c", "if [ -x /bin/bash ]; then exec /bin/bash -l; fi; exec /bin/sh -l"}

// Terminal is an interactive TTY exec in a sandbox. Read returns what the
// terminal prints, Write types into it. Close ends the stream and kills every
// process started from this terminal (they carry its session marker),
// including ones that called setsid; a process that also scrubbed its
// environment survives until the sandbox is removed.
type Terminal struct {
	m      *Manager
	id     string // container
	execID string
	user   string
	marker string
	hj     types.HijackedResponse

	initResize chan struct{} // closed when the initial resize is done
	closeOnce  sync.Once
	closeErr   error
}

// Read reads terminal output.
func (t *Terminal) Read(p []byte) (int, error) { return t.hj.Reader.Read(p) }

// Write sends input to the terminal and counts as activity for the idle
// timeout. Input waits for the initial resize, so the first command already
// sees the requested size.
func (t *Terminal) Write(p []byte) (int, error) {
	if t.initResize != nil {
		<-t.initResize // bounded by the resize attempts
	}
	t.m.Touch(t.id)
	return t.hj.Conn.Write(p)
}

// SandboxID returns the container the terminal runs in.
func (t *Terminal) SandboxID() string { return t.id }

// Resize sets the terminal size, retrying briefly while Docker has not yet
// registered the exec as running.
func (t *Terminal) Resize(ctx context.Context, cols, rows uint) error {
	if t.initResize != nil {
		select {
		case <-t.initResize:
		case <-ctx.Done():
			return ctx.Err()
		}
	}
	return t.resize(ctx, cols, rows)
}

func (t *Terminal) resize(ctx context.Context, cols, rows uint) error {
	if cols == 0 || rows == 0 {
		return fmt.Errorf("sandbox: resize: invalid size %dx%d", cols, rows)
	}
	var err error
	for i := 0; i < resizeAttempts; i++ {
		err = t.m.cli.ContainerExecResize(ctx, t.execID, container.ResizeOptions{Width: cols, Height: rows})
		if err == nil {
			return nil
		}
		if errdefs.IsNotFound(err) && i > 2 {
			break
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("sandbox: resize: %w", ctx.Err())
		case <-time.After(min(resizeBackoff<<min(i, 3), resizeMaxWait)):
		}
	}
	return fmt.Errorf("sandbox: resize: %w", err)
}

// ExitCode reports whether the terminal's command has ended and its status.
func (t *Terminal) ExitCode(ctx context.Context) (code int, running bool, err error) {
	ins, err := t.m.cli.ContainerExecInspect(ctx, t.execID)
	if err != nil {
		return -1, false, fmt.Errorf("sandbox: terminal status: %w", err)
	}
	return ins.ExitCode, ins.Running, nil
}

// Close ends the terminal and kills its processes. Safe to call twice.
func (t *Terminal) Close() error {
	t.closeOnce.Do(func() {
		t.hj.Close()
		ctx, cancel := context.WithTimeout(context.Background(), DefaultStopTimeout)
		defer cancel()
		t.m.killMarked(ctx, t.id, t.user, t.marker)
	})
	return t.closeErr
}

// closeStream closes the connection only (the container is being removed).
func (t *Terminal) closeStream() {
	t.closeOnce.Do(func() { t.hj.Close() })
}

// Attach starts an interactive TTY exec (a login shell by default) in id.
// When a shell was pre-spawned for this sandbox and the options ask for the
// default shell, that one is handed over and its prompt is already waiting.
func (m *Manager) Attach(ctx context.Context, id string, opts AttachOptions) (*Terminal, error) {
	rec, err := m.lookup(id)
	if err != nil {
		return nil, err
	}
	user := opts.User
	if user == "" {
		user = rec.sb.User
	}
	if len(opts.Cmd) == 0 && len(opts.Env) == 0 && opts.WorkDir == "" {
		m.mu.Lock()
		slot := rec.shell
		if slot != nil && slot.user == user {
			rec.shell = nil
		} else {
			slot = nil
		}
		m.mu.Unlock()
		if slot != nil {
			if t := slot.take(ctx); t != nil {
				if opts.Cols > 0 && opts.Rows > 0 {
					t.initResize = make(chan struct{})
					go func() {
						defer close(t.initResize)
						rctx, cancel := context.WithTimeout(context.Background(), DefaultStopTimeout)
						defer cancel()
						_ = t.resize(rctx, opts.Cols, opts.Rows)
					}()
				}
				m.Touch(rec.sb.ID)
				return t, nil
			}
		}
	}
	env := append(slices.Clone(rec.env), opts.Env...)
	t, err := m.attach(ctx, rec.sb.ID, user, opts.Cmd, env, opts.WorkDir, opts.Cols, opts.Rows)
	if err == nil {
		m.Touch(rec.sb.ID)
	}
	return t, err
}

func (m *Manager) attach(ctx context.Context, id, user string, cmd, env []string, workDir string, cols, rows uint) (*Terminal, error) {
	if len(cmd) == 0 {
		cmd = defaultShell
	}
	marker := sessionMarkerEnv + "=" + randomHex(8)
	env = append(slices.Clone(env), "TERM="+defaultTerm, marker)
	var size *[2]uint
	if cols > 0 && rows > 0 {
		size = &[2]uint{rows, cols}
	}
	cr, err := m.cli.ContainerExecCreate(ctx, id, container.ExecOptions{
		User: user, Tty: true, AttachStdin: true, AttachStdout: true, AttachStderr: true,
		Env: env, WorkingDir: workDir, Cmd: cmd, ConsoleSize: size,
	})
	if err != nil {
		if errdefs.IsNotFound(err) {
			return nil, fmt.Errorf("sandbox: attach: %w: %s", ErrNotFound, shortID(id))
		}
		return nil, fmt.Errorf("sandbox: attach: exec create: %w", err)
	}
	hj, err := m.cli.ContainerExecAttach(ctx, cr.ID, container.ExecAttachOptions{Tty: true, ConsoleSize: size})
	if err != nil {
		return nil, fmt.Errorf("sandbox: attach: exec start: %w", err)
	}
	t := &Terminal{m: m, id: id, execID: cr.ID, user: user, marker: marker, hj: hj}
	if size != nil {
		// API 1.41 ignores ConsoleSize: resize once the exec runs.
		t.initResize = make(chan struct{})
		go func() {
			defer close(t.initResize)
			rctx, cancel := context.WithTimeout(context.Background(), DefaultStopTimeout)
			defer cancel()
			if err := t.resize(rctx, cols, rows); err != nil {
				m.log.Warn("initial resize failed", "id", shortID(id), "err", err)
			}
		}()
	}
	return t, nil
}

// shellSlot is a login shell being or already pre-spawned for a sandbox.
type shellSlot struct {
	user  string
	ready chan struct{}
	mu    sync.Mutex
	term  *Terminal
	err   error
	taken bool
}

// prespawn starts a login shell for user in the background so that the
// first Attach finds its prompt already printed.
func (m *Manager) prespawn(ctx context.Context, id, user string, env []string) *shellSlot {
	s := &shellSlot{user: user, ready: make(chan struct{})}
	started := m.goBG(func() {
		defer close(s.ready)
		pctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), DefaultStopTimeout)
		defer cancel()
		t, err := m.attach(pctx, id, user, nil, env, "", 0, 0)
		s.mu.Lock()
		s.term, s.err = t, err
		s.mu.Unlock()
		if err != nil {
			m.log.Debug("prespawn shell failed", "id", shortID(id), "err", err)
		}
	})
	if !started {
		close(s.ready) // closed Manager: an empty slot, Attach starts a shell
	}
	return s
}

// take waits for the shell and hands it over once.
func (s *shellSlot) take(ctx context.Context) *Terminal {
	select {
	case <-s.ready:
	case <-ctx.Done():
		return nil
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.taken || s.term == nil {
		return nil
	}
	s.taken = true
	return s.term
}

// discard gives the shell up: kill=true also kills its processes (the
// container lives on), else only the stream is closed (it is being removed).
func (s *shellSlot) discard(kill bool) {
	select {
	case <-s.ready:
	case <-time.After(DefaultStopTimeout):
		return
	}
	s.mu.Lock()
	t := s.term
	taken := s.taken
	s.taken = true
	s.mu.Unlock()
	if t == nil || taken {
		return
	}
	if kill {
		_ = t.Close()
	} else {
		t.closeStream()
	}
}
