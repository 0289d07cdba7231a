package terminal

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"
)

// Websocket message types (RFC 6455), as gorilla and its fasthttp fork
// number them.
const (
	textMessage   = 1
	binaryMessage = 2
	closeMessage  = 8
	pingMessage   = 9
)

// WSConn is the part of a websocket connection the hub uses. Both
// github.com/gorilla/websocket and github.com/fasthttp/websocket (under
// gofiber/contrib/websocket) satisfy it.
type WSConn interface {
	NextReader() (messageType int, r io.Reader, err error)
	WriteMessage(messageType int, data []byte) error
	WriteControl(messageType int, data []byte, deadline time.Time) error
	SetReadDeadline(t time.Time) error
	SetWriteDeadline(t time.Time) error
	SetReadLimit(limit int64)
	SetPongHandler(h func(appData string) error)
	Close() error
}

// attachment is the link between a session and one connection's writer.
type attachment struct {
	out    chan *[]byte  // output chunks, owned by the receiver
	events chan []byte   // JSON events
	gone   chan struct{} // closed when the connection stopped taking output

	finOnce sync.Once
	fin     chan struct{} // closed by finish
	finCode int
	finMsg  string
	finEv   []byte
}

func newAttachment() *attachment {
	return &attachment{
		out: make(chan *[]byte, OutputQueue), events: make(chan []byte, EventQueue),
		gone: make(chan struct{}), fin: make(chan struct{}),
	}
}

// output hands chunk to the writer, waiting while its queue is full
// (backpressure). It returns false when the connection is gone.
func (a *attachment) output(chunk *[]byte) bool {
	select {
	case a.out <- chunk:
		return true
	case <-a.gone:
		return false
	case <-a.fin:
		return false
	}
}

// event queues a JSON event without blocking; false when dropped.
func (a *attachment) event(b []byte) bool {
	select {
	case a.events <- b:
		return true
	default:
		return false
	}
}

// finish asks the writer to flush what is queued, send ev, and close the
// connection with code and reason.
func (a *attachment) finish(code int, reason string, ev Event) {
	a.finOnce.Do(func() {
		a.finCode, a.finMsg = code, reason
		a.finEv, _ = json.Marshal(ev)
		close(a.fin)
	})
}

// Conn serves one websocket for one terminal: a reader (the goroutine that
// calls Run) and a writer goroutine.
type Conn struct {
	hub   *Hub
	ws    WSConn
	grant Grant
	size  Size
	log   *slog.Logger

	closing   atomic.Bool
	closeOnce sync.Once
	stop      chan struct{} // closed when the connection is ending
	a         *attachment
}

// NewConn prepares a connection for grant (from a redeemed ticket) with
// the client's initial size (an invalid size means the default).
func (h *Hub) NewConn(ws WSConn, g Grant, size Size) *Conn {
	if !size.Valid() {
		size = Size{DefaultCols, DefaultRows}
	}
	return &Conn{
		hub: h, ws: ws, grant: g, size: size, stop: make(chan struct{}), a: newAttachment(),
		log: h.log.With("sandbox", shortID(g.SandboxID), "term", g.Term, "attempt", g.AttemptID),
	}
}

// Reject closes ws with code and reason (for a failed ticket, say) and
// reads until the client acknowledges or CloseWait passes.
func Reject(ws WSConn, code int, reason string) {
	_ = ws.WriteControl(closeMessage, formatClose(code, reason), time.Now().Add(CloseWait))
	_ = ws.SetReadDeadline(time.Now().Add(CloseWait))
	for range 8 {
		if _, _, err := ws.NextReader(); err != nil {
			break
		}
	}
	_ = ws.Close()
}

// CloseWithReason closes the connection with CloseGoingAway (server
// shutdown). The shell keeps running for the grace period.
func (c *Conn) CloseWithReason(reason string) { c.closeWith(CloseGoingAway, reason) }

func (c *Conn) closeWith(code int, reason string) {
	c.closeOnce.Do(func() {
		c.closing.Store(true)
		close(c.stop)
		if err := c.ws.WriteControl(closeMessage, formatClose(code, reason), time.Now().Add(CloseWait)); err != nil {
			c.log.Debug("close frame", "err", err)
		}
		// The reader ends when the client answers the close, or soon.
		_ = c.ws.SetReadDeadline(time.Now().Add(CloseWait))
		c.log.Debug("closing websocket", "code", code, "reason", reason)
	})
}

// Run attaches to (or starts) the terminal's shell and serves the
// websocket until either side ends. The shell survives the connection for
// the hub's grace period.
func (c *Conn) Run(ctx context.Context) {
	defer c.ws.Close()
	c.ws.SetReadLimit(0) // the reader enforces MaxFrameBytes itself, with a reason
	s, replay, resumed, err := c.hub.open(ctx, c.grant, c.size, c.a)
	if err != nil {
		code, reason := CloseInternal, "could not start the terminal"
		switch {
		case errors.Is(err, ErrSandboxGone):
			code, reason = CloseSandboxGone, "sandbox not found or expired"
		case errors.Is(err, ErrTooManyTerminals):
			code, reason = CloseTooMany, err.Error()
		case errors.Is(err, ErrHubClosed):
			code, reason = CloseGoingAway, "server shutting down"
		}
		c.log.Info("terminal open failed", "err", err)
		c.closeWith(code, reason)
		c.drain()
		return
	}
	var wg sync.WaitGroup
	defer func() {
		s.detach(c.a)
		close(c.a.gone)
		// Closing the socket also frees a writer blocked on a stuck peer.
		_ = c.ws.Close()
		wg.Wait()
		// Chunks still queued go back to the pool.
		for {
			select {
			case ch := <-c.a.out:
				c.hub.putChunk(ch)
			default:
				return
			}
		}
	}()
	size := s.currentSize()
	hello, _ := json.Marshal(Event{Type: "hello", Term: c.grant.Term, Resumed: &resumed, Cols: size.Cols, Rows: size.Rows})
	if err := c.write(textMessage, hello); err != nil {
		return
	}
	if len(replay) > 0 {
		if err := c.write(binaryMessage, replay); err != nil {
			return
		}
	}
	c.log.Debug("terminal attached", "resumed", resumed)
	wg.Add(1)
	go func() { defer wg.Done(); c.writer() }()
	c.reader(ctx, s)
	c.closeWith(CloseNormal, "")
}

// drain reads until the close handshake completes or times out.
func (c *Conn) drain() {
	for range 8 {
		if _, _, err := c.ws.NextReader(); err != nil {
			return
		}
	}
}

func (c *Conn) write(mt int, b []byte) error {
	_ = c.ws.SetWriteDeadline(time.Now().Add(WriteWait))
	if err := c.ws.WriteMessage(mt, b); err != nil {
		return fmt.Errorf("websocket write: %w", err)
	}
	return nil
}

// writer is the connection's only writer of data frames.
func (c *Conn) writer() {
	ping := time.NewTicker(PingInterval)
	defer ping.Stop()
	fail := func(err error) {
		c.log.Debug("websocket write failed", "err", err)
		c.closing.Store(true)
		_ = c.ws.SetReadDeadline(time.Now()) // stop the reader
	}
	for {
		select {
		case ch := <-c.a.out:
			err := c.write(binaryMessage, *ch)
			c.hub.putChunk(ch)
			if err != nil {
				fail(err)
				return
			}
		case ev := <-c.a.events:
			if err := c.write(textMessage, ev); err != nil {
				fail(err)
				return
			}
		case <-ping.C:
			if err := c.ws.WriteControl(pingMessage, nil, time.Now().Add(WriteWait)); err != nil {
				fail(err)
				return
			}
		case <-c.a.fin:
			c.flushFinal()
			return
		case <-c.stop:
			return
		}
	}
}

// flushFinal writes what is still queued, the final event and the close.
func (c *Conn) flushFinal() {
	for {
		select {
		case ch := <-c.a.out:
			err := c.write(binaryMessage, *ch)
			c.hub.putChunk(ch)
			if err != nil {
				c.closeWith(c.a.finCode, c.a.finMsg)
				return
			}
			continue
		case ev := <-c.a.events:
			_ = c.write(textMessage, ev)
			continue
		default:
		}
		break
	}
	_ = c.write(textMessage, c.a.finEv)
	c.closeWith(c.a.finCode, c.a.finMsg)
}

// reader is the connection's only reader: input and control messages,
// rate-limited and size-limited.
func (c *Conn) reader(ctx context.Context, s *session) {
	extend := func() {
		if !c.closing.Load() {
			_ = c.ws.SetReadDeadline(time.Now().Add(PongWait))
		}
	}
	extend()
	c.ws.SetPongHandler(func(string) error { extend(); return nil })
	now := time.Now()
	msgs := newBucket(MessageRate, MessageBurst, now)
	bytes := newBucket(InputRate, InputBurst, now)
	bad := 0
	for {
		mt, r, err := c.ws.NextReader()
		if err != nil {
			if !c.closing.Load() {
				c.log.Debug("websocket read ended", "err", err)
			}
			return
		}
		data, err := io.ReadAll(io.LimitReader(r, MaxFrameBytes+1))
		if err != nil {
			return
		}
		if len(data) > MaxFrameBytes {
			c.log.Info("frame too big", "limit", MaxFrameBytes)
			c.closeWith(CloseTooBig, fmt.Sprintf("message larger than %d bytes; send input in smaller chunks", MaxFrameBytes))
			return
		}
		extend()
		wait := msgs.take(1, time.Now())
		if mt == binaryMessage {
			wait = max(wait, bytes.take(float64(len(data)), time.Now()))
		}
		if wait > 0 && !c.sleep(wait) {
			return
		}
		switch mt {
		case binaryMessage:
			if len(data) == 0 {
				continue
			}
			if err := s.input(data); err != nil {
				c.log.Debug("input dropped", "err", err)
			}
		case textMessage:
			if msg := c.control(ctx, s, data); msg != "" {
				bad++
				if bad > MaxBadControl {
					c.closeWith(CloseUnsupported, "too many invalid control messages")
					return
				}
				ev, _ := json.Marshal(Event{Type: "error", Message: msg})
				c.a.event(ev)
			}
		}
	}
}

// control handles one JSON control message; it returns an error message
// for the client, or "".
func (c *Conn) control(ctx context.Context, s *session, data []byte) string {
	var m control
	if err := json.Unmarshal(data, &m); err != nil {
		return "invalid control message: not a JSON object"
	}
	switch m.Type {
	case "resize":
		sz := Size{Cols: m.Cols, Rows: m.Rows}
		if !sz.Valid() {
			return fmt.Sprintf("invalid resize %dx%d: columns must be %d–%d and rows %d–%d", m.Cols, m.Rows, MinCols, MaxCols, MinRows, MaxRows)
		}
		s.resize(ctx, sz)
		return ""
	case "ping":
		c.a.event([]byte(`{"type":"pong"}`))
		return ""
	default:
		return fmt.Sprintf("unknown control message type %q", truncReason(m.Type))
	}
}

// sleep waits d unless the connection is closing.
func (c *Conn) sleep(d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return true
	case <-c.stop:
		return false
	}
}

func formatClose(code int, reason string) []byte {
	reason = truncReason(reason)
	b := make([]byte, 2+len(reason))
	b[0], b[1] = byte(code>>8), byte(code)
	copy(b[2:], reason)
	return b
}
