package server_test

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/opsdojo/opsdojo/termclient"
	"github.com/opsdojo/opsdojo/terminal"
)

// TestTerminalBasics types into a real shell in a real sandbox through the
// real server: echo, initial size, resize, reconnect, takeover, exit.
func TestTerminalBasics(t *testing.T) {
	e := newTermEnv(t, envOptions{grace: 10 * time.Second})
	sb := e.newSandbox(t)

	t.Run("echo and initial size", func(t *testing.T) {
		c := e.dial(t, e.ctx, sb, "1", termclient.Options{Cols: 132, Rows: 43})
		expect(t, c, prompt)
		send(t, c, "echo hel''lo; stty size\n")
		expect(t, c, "hello")
		expect(t, c, "43 132")
		if h := c.Hello(); h == nil || h.Term != "1" || *h.Resumed {
			t.Fatalf("hello = %+v", h)
		}
	})

	// Output must arrive complete and in order whether a chunk went straight
	// to the socket or through the writer's queue (both happen under a
	// burst like this one).
	t.Run("output arrives in order", func(t *testing.T) {
		c := e.dial(t, e.ctx, sb, "order", termclient.Options{})
		expect(t, c, prompt)
		send(t, c, "seq 1 60000; echo SEQ-$((1+1))-DONE\n")
		out := expect(t, c, "SEQ-2-DONE")
		next := 1
		for _, line := range strings.Split(out, "\n") {
			line = strings.TrimSpace(line)
			if i := strings.LastIndexByte(line, '\r'); i >= 0 {
				line = line[i+1:] // after bash's bracketed-paste switch
			}
			n, err := strconv.Atoi(line)
			if err != nil {
				continue
			}
			if n != next {
				t.Fatalf("got %d after %d: output out of order or lost; start of output %q", n, next-1, out[:min(len(out), 300)])
			}
			next++
		}
		if next != 60001 {
			t.Fatalf("read up to %d of 60000", next-1)
		}
	})

	t.Run("resize changes stty size", func(t *testing.T) {
		c := e.dial(t, e.ctx, sb, "2", termclient.Options{})
		expect(t, c, prompt)
		if err := c.Resize(100, 30); err != nil {
			t.Fatal(err)
		}
		send(t, c, "stty size\n")
		expect(t, c, "30 100")
	})

	t.Run("reconnect keeps the shell", func(t *testing.T) {
		c := e.dial(t, e.ctx, sb, "3", termclient.Options{})
		expect(t, c, prompt)
		send(t, c, "export OPSDOJO_KEEP=kept-$((6*7)); echo marker-$((1+1))\n")
		expect(t, c, "marker-2")
		_ = c.Close()

		c2 := e.dial(t, e.ctx, sb, "3", termclient.Options{Cols: 90, Rows: 20})
		// The scrollback is replayed first.
		expect(t, c2, "marker-2")
		if h := c2.Hello(); h == nil || !*h.Resumed {
			t.Fatalf("hello after reconnect = %+v", h)
		}
		send(t, c2, "echo got-$OPSDOJO_KEEP; stty size\n")
		expect(t, c2, "got-kept-42")
		expect(t, c2, "20 90")

		// A dropped network connection (no close handshake) too.
		_ = c2.Abort()
		c3 := e.dial(t, e.ctx, sb, "3", termclient.Options{})
		c3.Discard()
		send(t, c3, "echo again-$OPSDOJO_KEEP\n")
		expect(t, c3, "again-kept-42")
	})

	t.Run("second window takes over", func(t *testing.T) {
		c := e.dial(t, e.ctx, sb, "4", termclient.Options{})
		expect(t, c, prompt)
		c2 := e.dial(t, e.ctx, sb, "4", termclient.Options{})
		if ce := closeOf(t, c); ce.Code != terminal.CloseTakenOver {
			t.Fatalf("first window closed with %v, want %d", ce, terminal.CloseTakenOver)
		}
		send(t, c2, "echo still-$((2+3))\n")
		expect(t, c2, "still-5")
	})

	t.Run("exit reports the code", func(t *testing.T) {
		c := e.dial(t, e.ctx, sb, "5", termclient.Options{})
		expect(t, c, prompt)
		send(t, c, "exit 3\n")
		ce := closeOf(t, c)
		code, ok := c.ExitCode()
		if !ok || code != 3 || ce.Code != terminal.CloseNormal {
			t.Fatalf("exit: code %d (reported %v), close %v", code, ok, ce)
		}
	})
}

// TestTerminalRefusals: bad tickets, bad origins, abusive frames and a
// removed sandbox each get a clear close reason or error event; the other
// sessions are unaffected.
func TestTerminalRefusals(t *testing.T) {
	e := newTermEnv(t, envOptions{grace: 10 * time.Second, maxPerSandbox: 32})
	sb := e.newSandbox(t)
	ctx := e.ctx

	// A bystander that must keep working throughout.
	by := e.dial(t, ctx, sb, "by", termclient.Options{})
	expect(t, by, prompt)
	stillWorks := func(t *testing.T, c *termclient.Conn, tag string) {
		t.Helper()
		send(t, c, fmt.Sprintf("echo ok-%s-$((40+2))\n", tag))
		expect(t, c, "ok-"+tag+"-42")
	}

	t.Run("tickets", func(t *testing.T) {
		cases := []struct {
			name   string
			url    func() string
			reason string
		}{
			{"missing", func() string { return e.base + "/ws/terminal/" + sb.attemptID + "/t1" }, "invalid ticket"},
			{"garbage", func() string { return e.base + "/ws/terminal/" + sb.attemptID + "/t1?ticket=AAAAAAAAAAAAAAAAAAAAAA" }, "invalid ticket"},
			{"other terminal", func() string {
				tk := e.ticket(t, sb, "t1")
				return e.base + strings.Replace(tk.URL, "/t1?", "/t2?", 1)
			}, "another terminal"},
			{"other attempt", func() string {
				tk := e.ticket(t, sb, "t1")
				return e.base + strings.Replace(tk.URL, sb.attemptID, "someone-elses", 1)
			}, "another terminal"},
			{"reused", func() string {
				tk := e.ticket(t, sb, "t1")
				c, err := termclient.Dial(ctx, e.base+tk.URL, "", termclient.Options{})
				if err != nil {
					t.Fatal(err)
				}
				expect(t, c, prompt)
				_ = c.Close()
				return e.base + tk.URL
			}, "already used"},
			{"expired", func() string {
				tk := e.ticket(t, sb, "t1")
				e.skew.Store(int64(terminal.DefaultTicketTTL + time.Second))
				return e.base + tk.URL
			}, "expired"},
		}
		for _, tc := range cases {
			t.Run(tc.name, func(t *testing.T) {
				defer e.skew.Store(0)
				c, err := termclient.Dial(ctx, tc.url(), "", termclient.Options{})
				if err != nil {
					t.Fatal(err)
				}
				ce := closeOf(t, c)
				if ce.Code != terminal.CloseTicket || !strings.Contains(ce.Reason, tc.reason) {
					t.Fatalf("close = %v, want %d containing %q", ce, terminal.CloseTicket, tc.reason)
				}
			})
		}
	})

	t.Run("foreign origin is refused", func(t *testing.T) {
		tk := e.ticket(t, sb, "t1")
		_, err := termclient.Dial(ctx, e.base+tk.URL, "", termclient.Options{Origin: "https://evil.example"})
		if err == nil || !strings.Contains(err.Error(), "403") {
			t.Fatalf("dial from a foreign origin: %v, want HTTP 403", err)
		}
	})

	t.Run("abusive messages", func(t *testing.T) {
		cases := []struct {
			name      string
			mt        int
			data      []byte
			wantClose int    // 0: the connection survives with an error event
			wantText  string // in the close reason or the error event
		}{
			{"50 MiB frame", 2, make([]byte, 50<<20), terminal.CloseTooBig, "larger than"},
			{"frame just over the limit", 2, make([]byte, terminal.MaxFrameBytes+1), terminal.CloseTooBig, "larger than"},
			{"garbage text", 1, []byte("\x00\xff{{{not json"), 0, "not a JSON object"},
			{"unknown control", 1, []byte(`{"type":"launch-missiles"}`), 0, "unknown control message type"},
			{"resize 0x0", 1, []byte(`{"type":"resize","cols":0,"rows":0}`), 0, "invalid resize 0x0"},
			{"resize 100000 cols", 1, []byte(`{"type":"resize","cols":100000,"rows":40}`), 0, "invalid resize 100000x40"},
			{"negative resize", 1, []byte(`{"type":"resize","cols":-5,"rows":-5}`), 0, "invalid resize"},
			{"empty binary", 2, nil, 0, ""},
		}
		for i, tc := range cases {
			t.Run(tc.name, func(t *testing.T) {
				c := e.dial(t, ctx, sb, fmt.Sprintf("ab%d", i), termclient.Options{})
				expect(t, c, prompt)
				if err := c.WriteMessage(tc.mt, tc.data); err != nil && tc.wantClose == 0 {
					t.Fatal(err)
				}
				if tc.wantClose != 0 {
					ce := closeOf(t, c)
					if ce.Code != tc.wantClose || !strings.Contains(ce.Reason, tc.wantText) {
						t.Fatalf("close = %v, want %d with %q", ce, tc.wantClose, tc.wantText)
					}
				} else {
					if tc.wantText != "" {
						waitEvent(t, c, "error", tc.wantText)
					}
					stillWorks(t, c, fmt.Sprint(i))
				}
				stillWorks(t, by, fmt.Sprintf("by%d", i))
			})
		}
		t.Run("too many bad control messages", func(t *testing.T) {
			c := e.dial(t, ctx, sb, "ab-many", termclient.Options{})
			expect(t, c, prompt)
			for range terminal.MaxBadControl + 1 {
				_ = c.WriteMessage(1, []byte(`{"type":"nope"}`))
			}
			if ce := closeOf(t, c); ce.Code != terminal.CloseUnsupported {
				t.Fatalf("close = %v, want %d", ce, terminal.CloseUnsupported)
			}
		})
	})

	t.Run("removed sandbox", func(t *testing.T) {
		sb2 := e.newSandbox(t)
		c := e.dial(t, ctx, sb2, "1", termclient.Options{})
		expect(t, c, prompt)
		if err := e.mgr.Remove(ctx, sb2.id); err != nil {
			t.Fatal(err)
		}
		ce := closeOf(t, c)
		if ce.Code != terminal.CloseSandboxGone {
			t.Fatalf("close after removal = %v, want %d", ce, terminal.CloseSandboxGone)
		}
		// A new ticket for the removed sandbox.
		c2 := e.dial(t, ctx, sb2, "1", termclient.Options{})
		if ce := closeOf(t, c2); ce.Code != terminal.CloseSandboxGone || !strings.Contains(ce.Reason, "not found") {
			t.Fatalf("open on removed sandbox: %v", ce)
		}
	})
	stillWorks(t, by, "end")
}

// waitEvent waits for a control event of type typ whose message contains
// text.
func waitEvent(t testing.TB, c *termclient.Conn, typ, text string) termclient.Event {
	t.Helper()
	timer := time.NewTimer(stepTimeout)
	defer timer.Stop()
	for {
		select {
		case ev := <-c.Events():
			if ev.Type == typ && strings.Contains(ev.Message, text) {
				return ev
			}
		case <-timer.C:
			t.Fatalf("no %q event containing %q", typ, text)
		case <-c.Done():
			t.Fatalf("connection ended waiting for %q event: %v", typ, c.Err())
		}
	}
}

var _ = errors.New
var _ = context.Background

// TestTerminalFirstConnectFromPool: a pool sandbox's pre-spawned shell has
// printed its prompt before anyone connects. The first window shows that
// prompt and is not told it reconnected; a later window is.
func TestTerminalFirstConnectFromPool(t *testing.T) {
	e := newTermEnv(t, envOptions{grace: 10 * time.Second, pool: 1, prespawn: true})
	if err := e.mgr.FillPool(e.ctx); err != nil {
		t.Fatal(err)
	}
	sb := e.newSandbox(t)
	c := e.dial(t, e.ctx, sb, "1", termclient.Options{Cols: 100, Rows: 30})
	expect(t, c, prompt)
	if h := c.Hello(); h == nil || *h.Resumed {
		t.Fatalf("first hello = %+v, want resumed=false", h)
	}
	send(t, c, "stty size\n")
	expect(t, c, "30 100")
	_ = c.Close()

	c2 := e.dial(t, e.ctx, sb, "1", termclient.Options{Cols: 100, Rows: 30})
	expect(t, c2, "30 100")
	if h := c2.Hello(); h == nil || !*h.Resumed {
		t.Fatalf("hello after reconnect = %+v, want resumed=true", h)
	}
}
