package terminal

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/opsdojo/opsdojo/sandbox"
)

// attachTimeout bounds starting a shell in Docker.
const attachTimeout = 15 * time.Second

// SandboxManager is the part of *sandbox.Manager the hub uses.
type SandboxManager interface {
	Attach(ctx context.Context, id string, opts sandbox.AttachOptions) (*sandbox.Terminal, error)
	Get(id string) (sandbox.Sandbox, error)
}

// SandboxAttacher starts login shells (as the sandbox's user) through a
// sandbox manager.
type SandboxAttacher struct {
	M SandboxManager
}

// Attach implements Attacher. The shell is not tied to ctx: it runs until
// closed.
func (a SandboxAttacher) Attach(ctx context.Context, sandboxID string, size Size) (PTY, error) {
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), attachTimeout)
	defer cancel()
	t, err := a.M.Attach(ctx, sandboxID, sandbox.AttachOptions{Cols: uint(size.Cols), Rows: uint(size.Rows)})
	if err != nil {
		if errors.Is(err, sandbox.ErrNotFound) || errors.Is(err, sandbox.ErrExpired) {
			return nil, fmt.Errorf("attach %s: %w: %w", shortID(sandboxID), ErrSandboxGone, err)
		}
		return nil, fmt.Errorf("attach %s: %w", shortID(sandboxID), err)
	}
	return t, nil
}

// Alive reports whether the sandbox is still tracked and not expired.
func (a SandboxAttacher) Alive(sandboxID string) bool {
	_, err := a.M.Get(sandboxID)
	return err == nil
}
