package terminal_test

import (
	"context"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/gorilla/websocket"

	"github.com/opsdojo/opsdojo/termclient"
	"github.com/opsdojo/opsdojo/terminal"
)

const testTimeout = 20 * time.Second

// fakePTY echoes input back, like a terminal in echo mode; flood makes it
// print forever.
type fakePTY struct {
	in       chan []byte
	closed   chan struct{}
	once     sync.Once
	flood    bool
	produced atomic.Int64
	pending  []byte
	resizes  atomic.Int64
	mu       sync.Mutex
	typed    strings.Builder // everything written to the shell
}

func (f *fakePTY) input() string {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.typed.String()
}

func newFakePTY(flood bool) *fakePTY {
	return &fakePTY{in: make(chan []byte, 16), closed: make(chan struct{}), flood: flood}
}

func (f *fakePTY) Read(p []byte) (int, error) {
	if f.flood {
		select {
		case <-f.closed:
			return 0, io.EOF
		default:
		}
		for i := range p {
			p[i] = 'y'
		}
		f.produced.Add(int64(len(p)))
		return len(p), nil
	}
	if len(f.pending) == 0 {
		select {
		case b := <-f.in:
			f.pending = b
		case <-f.closed:
			return 0, io.EOF
		}
	}
	n := copy(p, f.pending)
	f.pending = f.pending[n:]
	return n, nil
}

func (f *fakePTY) Write(p []byte) (int, error) {
	f.mu.Lock()
	f.typed.Write(p)
	f.mu.Unlock()
	select {
	case f.in <- append([]byte(nil), p...):
		return len(p), nil
	case <-f.closed:
		return 0, io.ErrClosedPipe
	}
}

func (f *fakePTY) Close() error { f.once.Do(func() { close(f.closed) }); return nil }

func (f *fakePTY) Resize(context.Context, uint, uint) error { f.resizes.Add(1); return nil }

func (f *fakePTY) isClosed() bool {
	select {
	case <-f.closed:
		return true
	default:
		return false
	}
}

type fakeAttacher struct {
	mu    sync.Mutex
	ptys  []*fakePTY
	flood bool
	gone  bool
}

func (a *fakeAttacher) Attach(_ context.Context, sandboxID string, _ terminal.Size) (terminal.PTY, error) {
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.gone {
		return nil, terminal.ErrSandboxGone
	}
	p := newFakePTY(a.flood)
	a.ptys = append(a.ptys, p)
	return p, nil
}

func (a *fakeAttacher) count() int {
	a.mu.Lock()
	defer a.mu.Unlock()
	return len(a.ptys)
}

func (a *fakeAttacher) pty(i int) *fakePTY {
	a.mu.Lock()
	defer a.mu.Unlock()
	return a.ptys[i]
}

// harness serves the hub over a plain net/http + gorilla server.
type harness struct {
	hub     *terminal.Hub
	tickets *terminal.Tickets
	att     *fakeAttacher
	srv     *httptest.Server
}

func newHarness(t *testing.T, cfg terminal.Config, att *fakeAttacher) *harness {
	t.Helper()
	h := &harness{hub: terminal.NewHub(att, cfg), tickets: terminal.NewTickets(0, nil), att: att}
	up := websocket.Upgrader{}
	h.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		ws, err := up.Upgrade(w, r, nil)
		if err != nil {
			return
		}
		g, err := h.tickets.Redeem(r.URL.Query().Get("ticket"))
		if err != nil {
			terminal.Reject(ws, terminal.CloseTicket, err.Error())
			return
		}
		h.hub.NewConn(ws, g, terminal.Size{}).Run(r.Context())
	}))
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), testTimeout)
		defer cancel()
		if err := h.hub.Shutdown(ctx); err != nil {
			t.Error(err)
		}
		h.srv.Close()
	})
	return h
}

func (h *harness) dial(t *testing.T, sandbox, term string) *termclient.Conn {
	t.Helper()
	tk, err := h.tickets.Issue("u", "att", sandbox, term)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), testTimeout)
	defer cancel()
	c, err := termclient.Dial(ctx, h.srv.URL, tk, termclient.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = c.Close() })
	return c
}

func expect(t *testing.T, c *termclient.Conn, s string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), testTimeout)
	defer cancel()
	if _, err := c.Expect(ctx, s); err != nil {
		t.Fatal(err)
	}
}

func closeCode(t *testing.T, c *termclient.Conn) *termclient.CloseError {
	t.Helper()
	select {
	case <-c.Done():
	case <-time.After(testTimeout):
		t.Fatal("connection did not close")
	}
	var ce *termclient.CloseError
	if !errors.As(c.Err(), &ce) {
		t.Fatalf("closed without a close frame: %v", c.Err())
	}
	return ce
}

func eventually(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(testTimeout)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func TestHubReconnectAndGrace(t *testing.T) {
	t.Parallel()
	att := &fakeAttacher{}
	h := newHarness(t, terminal.Config{Grace: 300 * time.Millisecond}, att)
	c := h.dial(t, "sb", "1")
	if _, err := c.Write([]byte("first line\r\n")); err != nil {
		t.Fatal(err)
	}
	expect(t, c, "first line")
	_ = c.Close()

	c2 := h.dial(t, "sb", "1")
	expect(t, c2, "first line") // scrollback replay
	if att.count() != 1 {
		t.Fatalf("reconnect started %d shells", att.count())
	}
	if n, _ := h.hub.Broadcast("att", map[string]any{"type": "check", "result": map[string]int{"score": 7}}); n != 1 {
		t.Fatalf("broadcast reached %d terminals", n)
	}
	timer := time.NewTimer(testTimeout)
	defer timer.Stop()
	for ev := range c2.Events() {
		if ev.Type == "check" {
			if !strings.Contains(string(ev.Result), `"score":7`) {
				t.Fatalf("check event %s", ev.Raw)
			}
			break
		}
	}
	_ = c2.Close()
	eventually(t, "the shell to end after the grace period", att.pty(0).isClosed)
	eventually(t, "the session to go", func() bool { return h.hub.Stats().Sessions == 0 })
}

func TestHubBackpressure(t *testing.T) {
	t.Parallel()
	att := &fakeAttacher{flood: true}
	h := newHarness(t, terminal.Config{}, att)
	c := h.dial(t, "sb", "1")
	_ = c // reads nothing
	eventually(t, "the shell to start", func() bool { return att.count() == 1 })
	p := att.pty(0)
	// Buffers fill (server queue, socket buffers, client queue), then the
	// shell must stall: it produces nothing more while nobody reads.
	var a int64
	eventually(t, "the shell to stall", func() bool {
		before := p.produced.Load()
		time.Sleep(250 * time.Millisecond)
		a = p.produced.Load()
		return a == before
	})
	time.Sleep(300 * time.Millisecond)
	b := p.produced.Load()
	t.Logf("stalled after %d KiB, then %d KiB more while the client read nothing", a>>10, (b-a)>>10)
	if b != a {
		t.Fatalf("the shell kept printing (%d bytes) while the client read nothing", b-a)
	}
	// Bounded: server queue + client queue + socket buffers.
	if a > 64<<20 {
		t.Fatalf("%d MiB buffered for a paused client", a>>20)
	}
}

func TestHubCloseSandboxAndLimits(t *testing.T) {
	t.Parallel()
	att := &fakeAttacher{}
	h := newHarness(t, terminal.Config{MaxPerSandbox: 2}, att)
	c1, c2 := h.dial(t, "sb", "1"), h.dial(t, "sb", "2")
	expectHello(t, c1)
	expectHello(t, c2)
	c3 := h.dial(t, "sb", "3")
	if ce := closeCode(t, c3); ce.Code != terminal.CloseTooMany {
		t.Fatalf("third terminal: %v", ce)
	}
	ctx, cancel := context.WithTimeout(context.Background(), testTimeout)
	defer cancel()
	if n := h.hub.CloseSandbox(ctx, "sb", "submitted"); n != 2 {
		t.Fatalf("CloseSandbox closed %d", n)
	}
	for _, c := range []*termclient.Conn{c1, c2} {
		if ce := closeCode(t, c); ce.Code != terminal.CloseSandboxGone || !strings.Contains(ce.Reason, "submitted") {
			t.Fatalf("close = %v", ce)
		}
	}
	att.mu.Lock()
	att.gone = true
	att.mu.Unlock()
	c4 := h.dial(t, "sb", "1")
	if ce := closeCode(t, c4); ce.Code != terminal.CloseSandboxGone {
		t.Fatalf("open on a gone sandbox: %v", ce)
	}
}

func expectHello(t *testing.T, c *termclient.Conn) {
	t.Helper()
	eventually(t, "hello", func() bool { return c.Hello() != nil })
}
