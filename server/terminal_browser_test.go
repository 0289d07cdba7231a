package server_test

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"github.com/chromedp/chromedp/kb"

	"github.com/opsdojo/opsdojo/ui/browsertest"
)

// newBrowser starts headless Chromium (see package browsertest).
func newBrowser(t *testing.T, parent context.Context) context.Context {
	t.Helper()
	return browsertest.Chromium(t, parent, browsertest.Options{Width: 1200, Height: 800})
}

// Scripts run in the page: the first tab of the terminal app.
const (
	jsTab    = `window.opsdojoTerminals && window.opsdojoTerminals[0] && window.opsdojoTerminals[0].list[0]`
	jsState  = `(() => { const t = ` + jsTab + `; return t ? t.state : ""; })()`
	jsStatus = `document.querySelector(".od-status").textContent`
	jsLines  = `(() => { const t = ` + jsTab + `; if (!t) return []; const b = t.term.buffer.active; const out = [];
		for (let i = 0; i < b.length; i++) { const l = b.getLine(i); if (l) out.push(l.translateToString(true)); } return out; })()`
	jsSize = `(() => { const t = ` + jsTab + `; return [t.term.rows, t.term.cols]; })()`
)

// waitJS polls expr until cond accepts its value.
func waitJS[T any](t *testing.T, ctx context.Context, expr string, what string, cond func(T) bool) T {
	t.Helper()
	deadline := time.Now().Add(stepTimeout)
	for {
		v, err := chromedp.Run(ctx, chromedp.Evaluate[T](expr))
		if err == nil && cond(v) {
			return v
		}
		if time.Now().After(deadline) {
			status, _ := chromedp.Run(ctx, chromedp.Evaluate[string](jsStatus))
			t.Fatalf("waiting for %s: last value %v (err %v); status line %q", what, v, err, status)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

func hasLine(want string) func([]string) bool {
	return func(lines []string) bool {
		for _, l := range lines {
			if strings.TrimSpace(l) == want {
				return true
			}
		}
		return false
	}
}

func typeLine(t *testing.T, ctx context.Context, line string) {
	t.Helper()
	if err := chromedp.Do(ctx, chromedp.Focus(chromedp.CSS(".xterm-helper-textarea")), browsertest.TypeKeys(line+kb.Enter)); err != nil {
		t.Fatalf("type %q: %v", line, err)
	}
}

// TestTerminalInBrowser loads the terminal page in headless Chromium, types
// into xterm.js and reads its buffer; the page follows the window size,
// reconnects to the same shell after the server drops the socket, and says
// so when the sandbox is gone.
func TestTerminalInBrowser(t *testing.T) {
	e := newTermEnv(t, envOptions{grace: 30 * time.Second})
	sb := e.newSandbox(t)
	ctx := newBrowser(t, e.ctx)

	if err := chromedp.Do(ctx, chromedp.Navigate(e.base+"/attempts/"+sb.attemptID+"/terminal")); err != nil {
		t.Fatal(err)
	}
	waitJS(t, ctx, jsState, "connected", func(s string) bool { return s == "connected" })

	typeLine(t, ctx, "echo hel''lo")
	waitJS(t, ctx, jsLines, "hello in the xterm buffer", hasLine("hello"))

	// The terminal follows the window: a smaller window, fewer columns,
	// and the shell is told.
	before, err := chromedp.Run(ctx, chromedp.Evaluate[[]int](jsSize))
	if err != nil {
		t.Fatal(err)
	}
	if err := chromedp.Do(ctx, chromedp.EmulateViewport(700, 500)); err != nil {
		t.Fatal(err)
	}
	size := waitJS(t, ctx, jsSize, "a smaller terminal", func(s []int) bool { return len(s) == 2 && len(before) == 2 && s[1] < before[1] })
	typeLine(t, ctx, "stty size")
	waitJS(t, ctx, jsLines, "stty size of the new size", hasLine(fmt.Sprintf("%d %d", size[0], size[1])))

	// The server drops every socket (a restart): the page reconnects to the
	// same shell.
	typeLine(t, ctx, "export SURVIVES=yes-$((2*21))")
	e.srv.Hijacked().CloseAll("test: server restarting")
	waitJS(t, ctx, jsState, "reconnecting", func(s string) bool { return s == "reconnecting" || s == "connecting" })
	waitJS(t, ctx, jsState, "connected again", func(s string) bool { return s == "connected" })
	typeLine(t, ctx, "echo $SURVIVES")
	waitJS(t, ctx, jsLines, "the exported variable after reconnect", hasLine("yes-42"))

	// The sandbox goes away: a clear message, no reconnect loop.
	if err := e.mgr.Remove(e.ctx, sb.id); err != nil {
		t.Fatal(err)
	}
	waitJS(t, ctx, jsState, "gone", func(s string) bool { return s == "gone" })
	status := waitJS(t, ctx, jsStatus, "status text", func(s string) bool { return s != "" })
	if !strings.Contains(status, "expired or was removed") {
		t.Fatalf("status after removal = %q", status)
	}
}
