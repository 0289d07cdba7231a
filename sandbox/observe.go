package sandbox

import (
	"context"
	"errors"
	"time"
)

// Observer is told about sandbox starts; package metrics implements it.
// Calls must not block.
type Observer interface {
	// SandboxStarted: a sandbox for challenge is ready (setup done) after
	// took; fromPool says it came from the warm pool.
	SandboxStarted(challenge string, took time.Duration, fromPool bool)
	// SandboxStartFailed: Create failed; capacity says a cap was reached
	// (ErrCapacity) rather than Docker or the setup failing.
	SandboxStartFailed(challenge string, capacity bool)
}

type nopObserver struct{}

func (nopObserver) SandboxStarted(string, time.Duration, bool) {}
func (nopObserver) SandboxStartFailed(string, bool)            {}

// SetObserver makes o the Observer of later Creates (nil: none).
func (m *Manager) SetObserver(o Observer) {
	if o == nil {
		o = nopObserver{}
	}
	m.mu.Lock()
	m.obs = o
	m.mu.Unlock()
}

// Create makes a sandbox for s: from the warm pool when one matches, else a
// fresh container; then copies Files and runs Setup as root. It returns
// ErrCapacity at once when a cap is reached. The Observer is told how long
// the start took, or that it failed.
func (m *Manager) Create(ctx context.Context, s Spec) (*Sandbox, error) {
	start := time.Now()
	sb, err := m.createSandbox(ctx, s)
	m.mu.Lock()
	obs := m.obs
	m.mu.Unlock()
	if err != nil {
		obs.SandboxStartFailed(s.ChallengeID, errors.Is(err, ErrCapacity))
		return nil, err
	}
	obs.SandboxStarted(s.ChallengeID, time.Since(start), sb.FromPool)
	return sb, nil
}

// Counts is a snapshot of the sandboxes this Manager holds.
type Counts struct {
	// Running are handed-out sandboxes by challenge ID (hibernated ones,
	// which have no container, are not counted).
	Running map[string]int
	// Pooled are warm, started, not yet handed-out containers by image.
	Pooled map[string]int
	// Starting are Creates in flight.
	Starting int
}

// Counts reports how many sandboxes run, wait in the pool and are starting.
func (m *Manager) Counts() Counts {
	m.mu.Lock()
	defer m.mu.Unlock()
	c := Counts{Running: map[string]int{}, Pooled: map[string]int{}, Starting: m.reserved}
	for _, r := range m.boxes {
		if !r.asleep {
			c.Running[r.sb.ChallengeID]++
		}
	}
	for img, p := range m.pools {
		c.Pooled[img] = len(p.ready)
	}
	return c
}
