package sandbox

import (
	"context"
	"errors"
	"fmt"
	"sync"

	"github.com/docker/docker/api/types/container"
)

// pool is the warm pool of one image.
type pool struct {
	cfg     PoolConfig
	ready   []*poolEntry
	filling int
}

type poolEntry struct {
	id, name string
	spec     Spec // the normalized spec the container was made with
	shell    *shellSlot
}

// poolSpec is the spec pool containers of p are made with.
func (m *Manager) poolSpec(p PoolConfig) (Spec, error) {
	return m.normalize(Spec{Image: p.Image, User: p.User})
}

// takePool pops a ready container matching s, or returns nil. Only what can
// change after create may differ from the pool's spec: CPU, memory and pids
// (updated in place), user and env (kept by the Manager and passed to every
// exec), attempt/owner/challenge (Manager record + container name).
func (m *Manager) takePool(s Spec) *poolEntry {
	m.mu.Lock()
	defer m.mu.Unlock()
	p := m.pools[s.Image]
	if p == nil || len(p.ready) == 0 {
		return nil
	}
	e := p.ready[0]
	ps := e.spec
	// Labels cannot be added after create: a spec with extra labels is cold.
	if s.Network != ps.Network || len(s.CapAdd) != 0 || len(s.Labels) != 0 || s.Hostname != ps.Hostname || s.Disk != ps.Disk || len(s.Volumes) != 0 {
		return nil
	}
	p.ready = p.ready[1:]
	return e
}

// handOut turns pool entry e into the sandbox of s: the attempt mapping goes
// into the container name, resources are updated when they differ.
func (m *Manager) handOut(ctx context.Context, e *poolEntry, s Spec, rec *record) error {
	fail := func(err error) error {
		cctx, cancel := m.cleanupCtx(ctx)
		defer cancel()
		_ = m.removeContainer(cctx, e.id, "", e.shell)
		return err
	}
	meta := nameMeta{A: s.AttemptID, C: s.ChallengeID, O: s.OwnerID, U: s.User,
		E: rec.sb.Expires.Unix(), I: int64(s.IdleTimeout.Seconds())}
	name := encodeName(meta)
	// The Manager's record is authoritative; the name only carries the
	// mapping across a restart, so it is written in the background (a crash
	// in the few ms before it lands loses the sandbox to Reconcile).
	m.goBG(func() {
		rctx, cancel := m.cleanupCtx(ctx)
		defer cancel()
		if err := m.cli.ContainerRename(rctx, e.id, name); err != nil {
			m.log.Warn("pool hand-out: rename failed; mapping kept in memory only", "id", shortID(e.id), "err", err)
		}
	})
	if s.CPUs != e.spec.CPUs || s.Memory != e.spec.Memory || s.Pids != e.spec.Pids {
		pids := s.Pids
		_, err := m.cli.ContainerUpdate(ctx, e.id, container.UpdateConfig{Resources: container.Resources{
			Memory: s.Memory, MemorySwap: s.Memory, NanoCPUs: int64(s.CPUs * 1e9), PidsLimit: &pids,
		}})
		if err != nil {
			return fail(fmt.Errorf("sandbox: pool hand-out: update resources: %w", err))
		}
		got, err := m.cli.ContainerInspect(ctx, e.id)
		if err != nil {
			return fail(fmt.Errorf("sandbox: pool hand-out: inspect: %w", err))
		}
		h := got.HostConfig
		if h.Memory != s.Memory || h.MemorySwap != s.Memory || h.NanoCPUs != int64(s.CPUs*1e9) || h.PidsLimit == nil || *h.PidsLimit != pids {
			return fail(fmt.Errorf("%w: pool hand-out: resources did not apply", ErrBaseline))
		}
	}
	rec.sb.ID, rec.sb.Name, rec.sb.FromPool = e.id, name, true
	if e.shell != nil {
		if e.shell.user == s.User && len(s.Files) == 0 && len(s.Setup) == 0 && len(s.Env) == 0 {
			rec.shell = e.shell
		} else {
			// The shell started before Files/Setup/Env: it would not see them.
			if !m.goBG(func() { e.shell.discard(true) }) {
				e.shell.discard(false)
			}
		}
	}
	return nil
}

// FillPool creates pool containers until every pool holds its size. It
// returns when they are ready (or the first error).
func (m *Manager) FillPool(ctx context.Context) error {
	sem := make(chan struct{}, DefaultPoolConcurrent)
	var wg sync.WaitGroup
	var mu sync.Mutex
	var errs []error
	for {
		m.mu.Lock()
		if m.closed {
			m.mu.Unlock()
			break
		}
		var p *pool
		for _, cand := range m.pools {
			if len(cand.ready)+cand.filling < cand.cfg.Size {
				p = cand
				break
			}
		}
		if p != nil {
			p.filling++
		}
		m.mu.Unlock()
		if p == nil || ctx.Err() != nil {
			if p != nil {
				m.mu.Lock()
				p.filling--
				m.mu.Unlock()
			}
			break
		}
		sem <- struct{}{}
		wg.Add(1)
		started := m.goBG(func() {
			defer wg.Done()
			defer func() { <-sem }()
			e, err := m.newPoolEntry(ctx, p.cfg)
			m.mu.Lock()
			p.filling--
			if err == nil && !m.closed {
				p.ready = append(p.ready, e)
				e = nil
			}
			m.mu.Unlock()
			if err != nil {
				mu.Lock()
				errs = append(errs, err)
				mu.Unlock()
				m.log.Warn("pool fill failed", "image", p.cfg.Image, "err", err)
			}
			if e != nil { // closed meanwhile
				cctx, cancel := m.cleanupCtx(ctx)
				defer cancel()
				_ = m.removeContainer(cctx, e.id, "", e.shell)
			}
		})
		if !started { // closed meanwhile
			wg.Done()
			<-sem
			m.mu.Lock()
			p.filling--
			m.mu.Unlock()
			break
		}
		mu.Lock()
		failed := len(errs) > 0
		mu.Unlock()
		if failed {
			break
		}
	}
	wg.Wait()
	return errors.Join(errs...)
}

func (m *Manager) newPoolEntry(ctx context.Context, pc PoolConfig) (*poolEntry, error) {
	s, err := m.poolSpec(pc)
	if err != nil {
		return nil, err
	}
	created := m.now()
	name := containerNamePrefix + "p-" + randomHex(8)
	id, _, err := m.createContainer(ctx, s, name, m.labelsFor(s, created, created, pc.Image))
	if err != nil {
		return nil, fmt.Errorf("sandbox: pool: %w", err)
	}
	e := &poolEntry{id: id, name: name, spec: s}
	if m.cfg.PrespawnShell {
		e.shell = m.prespawn(ctx, id, s.User, nil)
		select { // ready means the prompt is (about to be) in the socket
		case <-e.shell.ready:
		case <-ctx.Done():
		}
	}
	return e, nil
}

// PoolReady returns how many containers of image are ready in the pool.
func (m *Manager) PoolReady(image string) int {
	m.mu.Lock()
	defer m.mu.Unlock()
	if p := m.pools[image]; p != nil {
		return len(p.ready)
	}
	return 0
}

// goBG runs fn in the background, joined by Close; it returns false (and
// does not run fn) once the Manager is closed.
func (m *Manager) goBG(fn func()) bool {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.closed {
		return false
	}
	m.bg.Add(1)
	go func() {
		defer m.bg.Done()
		fn()
	}()
	return true
}

func (m *Manager) wakePool() {
	if len(m.pools) == 0 {
		return
	}
	select {
	case m.poolWake <- struct{}{}:
	default:
	}
}
