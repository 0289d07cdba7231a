package sandbox

import (
	"context"
	"fmt"
	"strings"

	"github.com/docker/docker/errdefs"
)

// Track makes a running sandbox this Manager did not create (the server's,
// another process of the same instance) reachable through Probe, CopyOut
// and Exec, without taking it over: it is not reaped, counted against its
// owner or removed by Close. `opsdojo challenge check` grades a live
// attempt's sandbox with it. id is a container ID, unique prefix or name.
// It returns the sandbox and its container environment (the attempt's
// seeded values, when the sandbox was not handed out from the warm pool).
func (m *Manager) Track(ctx context.Context, id string) (Sandbox, map[string]string, error) {
	ins, err := m.cli.ContainerInspect(ctx, id)
	if err != nil {
		if errdefs.IsNotFound(err) {
			return Sandbox{}, nil, fmt.Errorf("%w: %s", ErrNotFound, id)
		}
		return Sandbox{}, nil, fmt.Errorf("sandbox: track %s: %w", id, err)
	}
	if ins.Config == nil || !m.ours(ins.Config.Labels) || ins.Config.Labels[LabelProbe] != "" {
		return Sandbox{}, nil, fmt.Errorf("%w: %s is not a managed sandbox", ErrNotFound, id)
	}
	if ins.State == nil || !ins.State.Running {
		return Sandbox{}, nil, fmt.Errorf("sandbox: track %s: the container is not running", shortID(ins.ID))
	}
	env := map[string]string{}
	for _, e := range ins.Config.Env {
		if k, v, ok := strings.Cut(e, "="); ok {
			env[k] = v
		}
	}
	sb := sandboxFromLabels(ins.ID, []string{ins.Name}, ins.Config.Image, ins.Config.Labels)
	if sb.User == "" {
		sb.User = DefaultUser
	}
	sb.DiskMode = m.diskMode()
	m.mu.Lock()
	defer m.mu.Unlock()
	if rec, ok := m.boxes[ins.ID]; ok {
		return rec.sb, env, nil
	}
	m.boxes[ins.ID] = &record{sb: sb, env: specEnv(ins.Config.Env), lastActive: m.now(), diskBytes: -1, diskInodes: -1, baseImage: sb.Image}
	return sb, env, nil
}
