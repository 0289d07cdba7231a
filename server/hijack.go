package server

import "sync"

// closer is a long-lived connection (a websocket) that can be told to go
// away with a reason.
type closer interface {
	CloseWithReason(reason string)
}

// hijackedConns tracks long-lived connections, with the user each serves,
// so shutdown can close them with a reason instead of cutting them, and
// "sign out everywhere" or a password change can end a user's terminals
// (a session revoked on the server must not keep a shell it opened).
type hijackedConns struct {
	mu    sync.Mutex
	conns map[closer]string // -> user ID
}

func newHijackedConns() *hijackedConns { return &hijackedConns{conns: map[closer]string{}} }

// Add registers c, serving userID, and returns the function that
// unregisters it.
func (h *hijackedConns) Add(c closer, userID string) (remove func()) {
	h.mu.Lock()
	h.conns[c] = userID
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
	h.close(func(string) bool { return true }, reason)
}

// CloseUser closes the connections of userID with reason and returns how
// many it closed. Clients that reconnect need a new ticket, which only a
// session still valid on the server gets.
func (h *hijackedConns) CloseUser(userID, reason string) int {
	return h.close(func(u string) bool { return u == userID }, reason)
}

func (h *hijackedConns) close(match func(userID string) bool, reason string) int {
	h.mu.Lock()
	cs := make([]closer, 0, len(h.conns))
	for c, u := range h.conns {
		if match(u) {
			cs = append(cs, c)
		}
	}
	h.mu.Unlock()
	for _, c := range cs {
		c.CloseWithReason(reason)
	}
	return len(cs)
}
