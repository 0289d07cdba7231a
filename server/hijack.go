package server

import "sync"

// closer is a long-lived connection (a websocket) that can be told to go
// away with a reason.
type closer interface {
	CloseWithReason(reason string)
}

// hijackedConns tracks long-lived connections so shutdown can close them
// with a reason instead of cutting them.
type hijackedConns struct {
	mu    sync.Mutex
	conns map[closer]struct{}
}

func newHijackedConns() *hijackedConns { return &hijackedConns{conns: map[closer]struct{}{}} }

// Add registers c and returns the function that unregisters it.
func (h *hijackedConns) Add(c closer) (remove func()) {
	h.mu.Lock()
	h.conns[c] = struct{}{}
	h.mu.Unlock()
	return func() {
		h.mu.Lock()
		delete(h.conns, c)
		h.mu.Unlock()
	}
}

// Len reports how many connections are open.
func (h *hijackedConns) Len() int {
	h.mu.Lock()
	defer h.mu.Unlock()
	return len(h.conns)
}

// CloseAll closes every registered connection with reason.
func (h *hijackedConns) CloseAll(reason string) {
	h.mu.Lock()
	cs := make([]closer, 0, len(h.conns))
	for c := range h.conns {
		cs = append(cs, c)
	}
	h.mu.Unlock()
	for _, c := range cs {
		c.CloseWithReason(reason)
	}
}
