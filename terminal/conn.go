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

// directMax is the largest output chunk written straight from the pump:
// what a keystroke's echo or a prompt produces. Bulk output goes through
// the writer goroutine, so reading the shell and writing the socket overlap.
const directMax = smallRead / 2

// attachment is the link between a session and one connection's writer.
type attachment struct {
	// direct, when set, writes a chunk straight to the socket if nothing
	// is queued and the writer is idle (false: use the queue). It saves
	// the hand-off to the writer goroutine on the interactive path
	// (keystroke echo) without reordering: pending counts chunks queued
	// and not yet written.
	direct  func(chunk *[]byte) bool // on true the chunk is written and given back
	pending atomic.Int64

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
	if a.direct != nil && len(*chunk) <= directMax && a.pending.Load() == 0 && a.direct(chunk) {
		return true
	}
	a.pending.Add(1)
	select {
	case a.out <- chunk:
		return true
	case <-a.gone:
		a.pending.Add(-1)
		return false
	case <-a.fin:
		a.pending.Add(-1)
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

	wmu       sync.Mutex  // serialises data frames (writer goroutine, direct writes)
	live      atomic.Bool // hello and replay are out: direct writes allowed
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
	c := &Conn{
		hub: h, ws: ws, grant: g, size: size, stop: make(chan struct{}), a: newAttachment(),
		log: h.log.With("sandbox", shortID(g.SandboxID), "term", g.Term, "attempt", g.AttemptID),
	}
	c.a.direct = c.directWrite
	return c
}

// directWrite writes chunk from the session's pump when the writer is idle
// and nothing is queued; false sends it through the queue instead. A slow
// client makes the pump wait here, which slows the shell: the same
// backpressure as a full queue.
func (c *Conn) directWrite(chunk *[]byte) bool {
	if !c.live.Load() || c.closing.Load() {
		return false
	}
	select {
	case <-c.a.fin:
		return false
	default:
	}
	if !c.wmu.TryLock() {
		return false
	}
	defer c.wmu.Unlock()
	if c.a.pending.Load() != 0 {
		return false
	}
	if err := c.writeLocked(binaryMessage, *chunk); err != nil {
		c.writeFailed(err)
	}
	c.hub.putChunk(chunk)
	return true
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
		case errors.Is(err, ErrAttemptClosed):
			code, reason = CloseSandboxGone, err.Error()
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
	c.live.Store(true)
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
	c.wmu.Lock()
	defer c.wmu.Unlock()
	return c.writeLocked(mt, b)
}

// writeLocked writes one frame; the caller holds wmu.
func (c *Conn) writeLocked(mt int, b []byte) error {
	_ = c.ws.SetWriteDeadline(time.Now().Add(WriteWait))
	if err := c.ws.WriteMessage(mt, b); err != nil {
		return fmt.Errorf("websocket write: %w", err)
	}
	return nil
}

// writeChunk writes a queued output chunk and gives it back to the pool.
func (c *Conn) writeChunk(ch *[]byte) error {
	err := c.write(binaryMessage, *ch)
	c.hub.putChunk(ch)
	c.a.pending.Add(-1)
	return err
}

// writeFailed ends the connection after a failed write: the reader stops,
// and the shell waits for a reconnect.
func (c *Conn) writeFailed(err error) {
	c.log.Debug("websocket write failed", "err", err)
	c.closing.Store(true)
	_ = c.ws.SetReadDeadline(time.Now()) // stop the reader
}

// writer is the connection's only writer of data frames.
func (c *Conn) writer() {
	ping := time.NewTicker(PingInterval)
	defer ping.Stop()
	for {
		select {
		case ch := <-c.a.out:
			if err := c.writeChunk(ch); err != nil {
				c.writeFailed(err)
				return
			}
		case ev := <-c.a.events:
			if err := c.write(textMessage, ev); err != nil {
				c.writeFailed(err)
				return
			}
		case <-ping.C:
			if err := c.ws.WriteControl(pingMessage, nil, time.Now().Add(WriteWait)); err != nil {
				c.writeFailed(err)
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
			if err := c.writeChunk(ch); err != nil {
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
	// The read deadline moves on with every message, but at most once per
	// deadlineStep: resetting it costs a timer update, and keystrokes come
	// far more often than that.
	const deadlineStep = time.Second
	var extended time.Time
	extend := func(now time.Time) {
		if !c.closing.Load() && now.Sub(extended) >= deadlineStep {
			extended = now
			_ = c.ws.SetReadDeadline(now.Add(PongWait))
		}
	}
	extend(time.Now())
	c.ws.SetPongHandler(func(string) error { extend(time.Now()); return nil })
	now := time.Now()
	msgs := newBucket(MessageRate, MessageBurst, now)
	bytes := newBucket(InputRate, InputBurst, now)
	bad := 0
	// One buffer for every frame: input is copied on by the pty write and
	// the recording before the next frame is read.
	var frame frameBuffer
	for {
		mt, r, err := c.ws.NextReader()
		if err != nil {
			if !c.closing.Load() {
				c.log.Debug("websocket read ended", "err", err)
			}
			return
		}
		data, err := frame.readFrom(r, MaxFrameBytes+1)
		if err != nil {
			return
		}
		if len(data) > MaxFrameBytes {
			c.log.Info("frame too big", "limit", MaxFrameBytes)
			c.closeWith(CloseTooBig, fmt.Sprintf("message larger than %d bytes; send input in smaller chunks", MaxFrameBytes))
			// Read the rest of the message and the client's close reply
			// (bounded by CloseWait and maxDiscard): a socket closed with
			// unread data is reset by the kernel, and the client then sees
			// "connection reset" instead of the close frame.
			_, _ = io.Copy(io.Discard, io.LimitReader(r, maxDiscard))
			c.drain()
			return
		}
		now := time.Now()
		extend(now)
		wait := msgs.take(1, now)
		if mt == binaryMessage {
			wait = max(wait, bytes.take(float64(len(data)), now))
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

// maxDiscard is how much of an oversized message is read and thrown away
// after the close frame, so that the close reaches the client instead of a
// TCP reset. Beyond it (or after CloseWait) the socket is closed anyway.
const maxDiscard = 4 << 20

// frameBuffer reads whole websocket messages into one reused buffer.
type frameBuffer struct{ b []byte }

// readFrom reads r to its end, or to limit bytes, and returns what it read;
// the result is valid until the next call.
func (f *frameBuffer) readFrom(r io.Reader, limit int) ([]byte, error) {
	if cap(f.b) > 64<<10 {
		f.b = nil // a connection that once sent a big frame does not keep its buffer
	}
	if f.b == nil {
		f.b = make([]byte, 0, 512)
	}
	f.b = f.b[:0]
	for len(f.b) < limit {
		if len(f.b) == cap(f.b) {
			f.b = append(f.b, 0)[:len(f.b)]
		}
		n, err := r.Read(f.b[len(f.b):min(cap(f.b), limit)])
		f.b = f.b[:len(f.b)+n]
		if err == io.EOF {
			break
		}
		if err != nil {
			return nil, err
		}
	}
	return f.b, nil
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
