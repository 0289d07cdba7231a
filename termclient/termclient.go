// Package termclient is a Go client for opsdojo's terminal websocket
// (protocol in docs/TERMINAL.md), used by tests, benchmarks and
// `opsdojo term`.
package termclient

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/gorilla/websocket"

	"github.com/opsdojo/opsdojo/terminal"
)

// Client limits.
const (
	// ChunkBytes is the largest binary frame Write sends (the server
	// refuses frames above 64 KiB).
	ChunkBytes = 16 << 10
	// outputQueue is how many output frames wait for Read; when full the
	// client stops reading the socket (backpressure reaches the shell).
	outputQueue = 64
	// eventQueue is how many control events wait in Events.
	eventQueue = 64
	// expectKeep caps what Expect keeps of the output it has not matched.
	expectKeep = 4 << 20
	writeWait  = 10 * time.Second
	closeWait  = 2 * time.Second
)

// Event is a JSON control message from the server: the protocol's own
// type, plus the raw JSON as received.
type Event struct {
	terminal.Event
	Raw []byte `json:"-"`
}

// CloseError says how the server closed the connection.
type CloseError struct {
	Code   int
	Reason string
}

func (e *CloseError) Error() string {
	return fmt.Sprintf("terminal closed (%d): %s", e.Code, e.Reason)
}

// Options tune Dial.
type Options struct {
	Origin     string // Origin header (the server checks it); default: the URL's http(s) origin
	Cols, Rows int    // initial size (0 = server default)
	Header     http.Header
	Dialer     *websocket.Dialer
	// Transcript, when set, receives a copy of all output as it arrives
	// (from the connection's reader goroutine; it must not block long).
	Transcript io.Writer
}

// Conn is an open terminal.
type Conn struct {
	ws         *websocket.Conn
	transcript io.Writer

	wmu sync.Mutex // one writer at a time

	out     chan []byte
	events  chan Event
	done    chan struct{} // closed when the reader ended
	pending []byte        // output read from out but not yet returned by Read
	acc     []byte        // Expect's unmatched output

	mu       sync.Mutex
	closeErr error // why the reader ended
	hello    *Event
	exitCode *int
}

// Dial opens the terminal at rawURL (ws://, wss://, http:// or https://;
// the path as the server's ticket endpoint returned it) with ticket (added
// as a query parameter unless empty or already present).
func Dial(ctx context.Context, rawURL, ticket string, opts Options) (*Conn, error) {
	u, err := url.Parse(rawURL)
	if err != nil {
		return nil, fmt.Errorf("terminal url: %w", err)
	}
	switch u.Scheme {
	case "http":
		u.Scheme = "ws"
	case "https":
		u.Scheme = "wss"
	case "ws", "wss":
	default:
		return nil, fmt.Errorf("terminal url: unsupported scheme %q (want ws, wss, http or https)", u.Scheme)
	}
	q := u.Query()
	if ticket != "" {
		q.Set("ticket", ticket)
	}
	if opts.Cols > 0 && opts.Rows > 0 {
		q.Set("cols", strconv.Itoa(opts.Cols))
		q.Set("rows", strconv.Itoa(opts.Rows))
	}
	u.RawQuery = q.Encode()
	h := http.Header{}
	for k, v := range opts.Header {
		h[k] = v
	}
	origin := opts.Origin
	if origin == "" {
		scheme := "http"
		if u.Scheme == "wss" {
			scheme = "https"
		}
		origin = scheme + "://" + u.Host
	}
	h.Set("Origin", origin)
	d := opts.Dialer
	if d == nil {
		d = &websocket.Dialer{HandshakeTimeout: 10 * time.Second, ReadBufferSize: 32 << 10, WriteBufferSize: ChunkBytes + 64}
	}
	ws, resp, err := d.DialContext(ctx, u.String(), h)
	if err != nil {
		if resp != nil {
			b, _ := io.ReadAll(io.LimitReader(resp.Body, 512))
			resp.Body.Close()
			return nil, fmt.Errorf("terminal dial: %w (HTTP %d: %s)", err, resp.StatusCode, strings.TrimSpace(string(b)))
		}
		return nil, fmt.Errorf("terminal dial: %w", err)
	}
	c := &Conn{ws: ws, transcript: opts.Transcript, out: make(chan []byte, outputQueue), events: make(chan Event, eventQueue), done: make(chan struct{})}
	go c.reader()
	return c, nil
}

// reader is the connection's only reader.
func (c *Conn) reader() {
	// done closes before out: a Read that finds out closed must find Err
	// set (defers run last-first).
	defer close(c.out)
	defer close(c.done)
	for {
		mt, data, err := c.ws.ReadMessage()
		if err != nil {
			var ce *websocket.CloseError
			if errors.As(err, &ce) {
				err = &CloseError{Code: ce.Code, Reason: ce.Text}
			}
			c.mu.Lock()
			c.closeErr = err
			c.mu.Unlock()
			return
		}
		switch mt {
		case websocket.BinaryMessage:
			if c.transcript != nil {
				_, _ = c.transcript.Write(data)
			}
			c.out <- data
		case websocket.TextMessage:
			var ev Event
			if json.Unmarshal(data, &ev) != nil {
				continue
			}
			ev.Raw = data
			c.mu.Lock()
			switch ev.Type {
			case "hello":
				e := ev
				c.hello = &e
			case "exit":
				c.exitCode = ev.Code
			}
			c.mu.Unlock()
			select {
			case c.events <- ev:
			default: // nobody listens: drop
			}
		}
	}
}

// Events delivers the server's control events (dropped when not read).
func (c *Conn) Events() <-chan Event { return c.events }

// Hello returns the server's hello event once received.
func (c *Conn) Hello() *Event {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.hello
}

// ExitCode returns the shell's exit code once the server reported it.
func (c *Conn) ExitCode() (int, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.exitCode == nil {
		return 0, false
	}
	return *c.exitCode, true
}

// Err is why the connection ended (a *CloseError when the server closed
// it), or nil while it is open.
func (c *Conn) Err() error {
	select {
	case <-c.done:
	default:
		return nil
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.closeErr
}

// Done is closed when the connection ended.
func (c *Conn) Done() <-chan struct{} { return c.done }

// Read returns terminal output. At the end it returns io.EOF, or the
// *CloseError with the server's reason when it was not a normal close.
func (c *Conn) Read(p []byte) (int, error) { return c.ReadContext(context.Background(), p) }

// ReadContext is Read bounded by ctx.
func (c *Conn) ReadContext(ctx context.Context, p []byte) (int, error) {
	if len(c.pending) == 0 {
		select {
		case b, ok := <-c.out:
			if !ok {
				return 0, c.endErr()
			}
			c.pending = b
		case <-ctx.Done():
			return 0, ctx.Err()
		}
	}
	n := copy(p, c.pending)
	c.pending = c.pending[n:]
	return n, nil
}

func (c *Conn) endErr() error {
	err := c.Err()
	var ce *CloseError
	if err == nil || (errors.As(err, &ce) && ce.Code == websocket.CloseNormalClosure) {
		return io.EOF
	}
	return err
}

// Expect reads until the output contains s and returns the output up to
// and including it; output after it stays for the next call.
func (c *Conn) Expect(ctx context.Context, s string) (string, error) {
	want := []byte(s)
	buf := make([]byte, 32<<10)
	for {
		if i := bytes.Index(c.acc, want); i >= 0 {
			got := string(c.acc[:i+len(want)])
			c.acc = append(c.acc[:0], c.acc[i+len(want):]...)
			return got, nil
		}
		n, err := c.ReadContext(ctx, buf)
		c.acc = append(c.acc, buf[:n]...)
		if len(c.acc) > expectKeep {
			c.acc = append(c.acc[:0], c.acc[len(c.acc)-expectKeep:]...)
		}
		if err != nil {
			return string(c.acc), fmt.Errorf("expect %q: %w (output so far: %q)", s, err, tail(c.acc, 400))
		}
	}
}

// Discard drops output Expect has buffered.
func (c *Conn) Discard() { c.acc = c.acc[:0] }

func tail(b []byte, n int) []byte {
	if len(b) > n {
		return b[len(b)-n:]
	}
	return b
}

// Write types p into the terminal, in frames of at most ChunkBytes.
func (c *Conn) Write(p []byte) (int, error) {
	c.wmu.Lock()
	defer c.wmu.Unlock()
	n := 0
	for len(p) > 0 {
		k := min(len(p), ChunkBytes)
		_ = c.ws.SetWriteDeadline(time.Now().Add(writeWait))
		if err := c.ws.WriteMessage(websocket.BinaryMessage, p[:k]); err != nil {
			return n, fmt.Errorf("terminal write: %w", err)
		}
		n += k
		p = p[k:]
	}
	return n, nil
}

// WriteMessage sends one raw frame (tests use it to send garbage).
func (c *Conn) WriteMessage(messageType int, data []byte) error {
	c.wmu.Lock()
	defer c.wmu.Unlock()
	_ = c.ws.SetWriteDeadline(time.Now().Add(writeWait))
	if err := c.ws.WriteMessage(messageType, data); err != nil {
		return fmt.Errorf("terminal write: %w", err)
	}
	return nil
}

// Resize asks for a new terminal size.
func (c *Conn) Resize(cols, rows int) error {
	b, _ := json.Marshal(map[string]any{"type": "resize", "cols": cols, "rows": rows})
	return c.WriteMessage(websocket.TextMessage, b)
}

// Ping sends a protocol-level {"type":"ping"} (answered with "pong").
func (c *Conn) Ping() error {
	return c.WriteMessage(websocket.TextMessage, []byte(`{"type":"ping"}`))
}

// Close ends the connection with a normal close. The shell keeps running
// on the server for its grace period (a later Dial with a new ticket
// resumes it).
func (c *Conn) Close() error {
	c.wmu.Lock()
	err := c.ws.WriteControl(websocket.CloseMessage, websocket.FormatCloseMessage(websocket.CloseNormalClosure, ""), time.Now().Add(closeWait))
	c.wmu.Unlock()
	if err == nil {
		t := time.NewTimer(closeWait)
		defer t.Stop()
		for {
			select {
			case _, ok := <-c.out: // keep draining so the reader sees the close
				if ok {
					continue
				}
			case <-t.C:
			}
			break
		}
	}
	return c.ws.Close()
}

// Abort drops the TCP connection without a close handshake (a network
// failure, for tests).
func (c *Conn) Abort() error { return c.ws.NetConn().Close() }
