package sandbox

import (
	"bytes"
	"io"
	"strings"
	"sync"
	"time"
)

// collector reads a stream in the background so tests can wait for text.
type collector struct {
	mu   sync.Mutex
	buf  bytes.Buffer
	done chan struct{}
	c    *sync.Cond
}

func newCollector(r io.Reader) *collector {
	c := &collector{done: make(chan struct{})}
	c.c = sync.NewCond(&c.mu)
	go func() {
		defer close(c.done)
		b := make([]byte, 4096)
		for {
			n, err := r.Read(b)
			c.mu.Lock()
			c.buf.Write(b[:n])
			c.c.Broadcast()
			c.mu.Unlock()
			if err != nil {
				return
			}
		}
	}()
	return c
}

func (c *collector) String() string {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.buf.String()
}

// waitFor waits until the output contains s, at most d.
func (c *collector) waitFor(s string, d time.Duration) bool {
	deadline := time.Now().Add(d)
	for time.Now().Before(deadline) {
		if strings.Contains(c.String(), s) {
			return true
		}
		time.Sleep(20 * time.Millisecond)
	}
	return false
}
