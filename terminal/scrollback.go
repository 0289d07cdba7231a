package terminal

import "unicode/utf8"

// scrollback keeps the last max bytes a terminal printed, for replay on
// reconnect. It grows with use (an idle shell with a prompt costs a few
// hundred bytes) and becomes a fixed ring of max bytes once full.
type scrollback struct {
	max  int
	buf  []byte
	ring bool // buf is full (len == max) and pos is the oldest byte
	pos  int
}

func newScrollback(max int) *scrollback { return &scrollback{max: max} }

func (s *scrollback) Write(p []byte) {
	if s.max <= 0 {
		return
	}
	if len(p) >= s.max {
		p = p[len(p)-s.max:]
	}
	if !s.ring {
		if len(s.buf)+len(p) <= s.max {
			s.buf = append(s.buf, p...)
			return
		}
		// Switch to a fixed ring holding the last max bytes.
		r := make([]byte, s.max)
		keep := s.max - len(p)
		copy(r, s.buf[len(s.buf)-keep:])
		copy(r[keep:], p)
		s.buf, s.ring, s.pos = r, true, 0
		return
	}
	n := copy(s.buf[s.pos:], p)
	if n < len(p) {
		copy(s.buf, p[n:])
	}
	s.pos = (s.pos + len(p)) % s.max
}

// Bytes returns a copy of the kept bytes, oldest first, starting at a
// UTF-8 boundary so replay does not begin with a broken character.
func (s *scrollback) Bytes() []byte {
	var out []byte
	if !s.ring {
		out = append([]byte(nil), s.buf...)
	} else {
		out = make([]byte, 0, s.max)
		out = append(out, s.buf[s.pos:]...)
		out = append(out, s.buf[:s.pos]...)
	}
	for i := 0; i < utf8.UTFMax && len(out) > 0 && !utf8.RuneStart(out[0]); i++ {
		out = out[1:]
	}
	return out
}

// Len is how many bytes are kept.
func (s *scrollback) Len() int { return len(s.buf) }
