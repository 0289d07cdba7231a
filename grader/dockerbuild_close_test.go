package grader

import (
	"context"
	"errors"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"
)

// removingEngine is a BuildEngine whose only working call is RemoveImage.
type removingEngine struct {
	BuildEngine
	mu      sync.Mutex
	removed []string
	fail    map[string]bool
}

func (e *removingEngine) RemoveImage(ctx context.Context, ref string) error {
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.fail[ref] {
		return errors.New("conflict: image is in use")
	}
	e.removed = append(e.removed, ref)
	return nil
}

// TestCloseDeletesQueuedImages: an image whose release found a build in
// flight stays queued; with no later grade, only Close deletes it (CI found
// opsdojo-grade/*:check images left behind after the test run). An image
// the daemon will not delete is named in Close's error.
func TestCloseDeletesQueuedImages(t *testing.T) {
	t.Parallel()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	eng := &removingEngine{fail: map[string]bool{"img-stuck": true}}
	d := NewDockerBuilder(eng, "probe")
	d.cacheMu.RLock() // another grade's build is in flight
	d.release(ctx, "img-a")
	d.release(ctx, "img-stuck")
	if len(eng.removed) != 0 {
		t.Fatalf("deleted %v during a build", eng.removed)
	}
	d.cacheMu.RUnlock() // that build's grade ended without a release (it failed before building)
	err := d.Close(ctx)
	if !slices.Equal(eng.removed, []string{"img-a"}) {
		t.Errorf("Close deleted %v, want [img-a]", eng.removed)
	}
	if err == nil || !strings.Contains(err.Error(), "img-stuck") {
		t.Errorf("Close error %v, want it to name img-stuck", err)
	}

	// Close waits (within its context) for a build in flight.
	d2 := NewDockerBuilder(&removingEngine{}, "probe")
	d2.cacheMu.RLock()
	short, cancel2 := context.WithTimeout(ctx, 50*time.Millisecond)
	defer cancel2()
	if err := d2.Close(short); err == nil {
		t.Error("Close returned during a build")
	}
	d2.cacheMu.RUnlock()
}
