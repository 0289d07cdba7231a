package terminal_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/opsdojo/opsdojo/termclient"
	"github.com/opsdojo/opsdojo/terminal"
)

// TestHubSealAndCloseAttempt: from the instant an attempt is sealed
// (submitted), what its candidate types no longer reaches the shell, no
// terminal of it opens again (even with a ticket issued before), and
// CloseAttempt ends its open websockets with a reason; other attempts are
// not touched.
func TestHubSealAndCloseAttempt(t *testing.T) {
	t.Parallel()
	att := &fakeAttacher{}
	h := newHarness(t, terminal.Config{}, att)
	dial := func(t *testing.T, attempt, sandbox, term string) *termclient.Conn {
		t.Helper()
		tk, err := h.tickets.Issue("u", attempt, sandbox, term)
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
	c := dial(t, "att", "sb", "1")
	other := dial(t, "other", "sb2", "1")
	expectHello(t, c)
	expectHello(t, other)
	if _, err := c.Write([]byte("before\r")); err != nil {
		t.Fatal(err)
	}
	expect(t, c, "before")
	early, err := h.tickets.Issue("u", "att", "sb", "2") // issued before the seal
	if err != nil {
		t.Fatal(err)
	}

	h.hub.Seal("att", "this take-home was submitted")
	if reason, ok := h.hub.Sealed("att"); !ok || !strings.Contains(reason, "submitted") {
		t.Fatalf("Sealed = %q, %v", reason, ok)
	}
	if _, ok := h.hub.Sealed("other"); ok {
		t.Fatal("another attempt is sealed")
	}
	if _, err := c.Write([]byte("typed-after-submit\r")); err != nil {
		t.Fatal(err)
	}
	// Frames are handled in order: once the pong is back, the input
	// before it was handled (dropped).
	if err := c.WriteMessage(1, []byte(`{"type":"ping"}`)); err != nil {
		t.Fatal(err)
	}
	waitFor(t, c, "pong")
	if got := att.pty(0).input(); strings.Contains(got, "typed-after-submit") {
		t.Fatalf("input typed after the seal reached the shell: %q", got)
	}

	ctx, cancel := context.WithTimeout(context.Background(), testTimeout)
	defer cancel()
	if n := h.hub.CloseAttempt(ctx, "att", "this take-home was submitted"); n != 1 {
		t.Fatalf("CloseAttempt ended %d terminals, want 1", n)
	}
	if ce := closeCode(t, c); ce.Code != terminal.CloseSandboxGone || !strings.Contains(ce.Reason, "submitted") {
		t.Fatalf("open terminal closed with %v, want %d saying submitted", ce, terminal.CloseSandboxGone)
	}
	if !att.pty(0).isClosed() {
		t.Fatal("the shell was not closed")
	}
	// A ticket issued before the seal opens nothing.
	dctx, dcancel := context.WithTimeout(context.Background(), testTimeout)
	defer dcancel()
	late, err := termclient.Dial(dctx, h.srv.URL, early, termclient.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer late.Close()
	if ce := closeCode(t, late); ce.Code != terminal.CloseSandboxGone || !strings.Contains(ce.Reason, "submitted") {
		t.Fatalf("terminal opened after the seal: %v", ce)
	}
	if att.count() != 2 {
		t.Fatalf("%d shells started, want 2 (none after the seal)", att.count())
	}
	// The other attempt still works.
	if _, err := other.Write([]byte("still-here\r")); err != nil {
		t.Fatal(err)
	}
	expect(t, other, "still-here")
}

func waitFor(t *testing.T, c *termclient.Conn, typ string) {
	t.Helper()
	timer := time.NewTimer(testTimeout)
	defer timer.Stop()
	for {
		select {
		case ev, ok := <-c.Events():
			if !ok {
				t.Fatalf("connection ended before a %q event: %v", typ, c.Err())
			}
			if ev.Type == typ {
				return
			}
		case <-timer.C:
			t.Fatalf("no %q event", typ)
		}
	}
}
