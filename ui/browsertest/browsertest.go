// Package browsertest starts Debian's Chromium for browser tests of the
// opsdojo pages (chromedp) and types into them the way a keyboard does.
// It skips a test when Chromium or the front-end bundle is missing, and
// fails it instead under CI=true.
//
// Every browser it starts records the Content-Security-Policy violations
// its pages report, and fails the test at cleanup when there was one (the
// server's CSP forbids inline script: see server/pages.go), so each browser
// test of the workspace, terminal, assignment and review pages is also a
// CSP test.
package browsertest

import (
	"context"
	"os"
	"os/exec"
	"strings"
	"sync"
	"testing"

	"github.com/chromedp/cdproto/cdp"
	"github.com/chromedp/cdproto/input"
	"github.com/chromedp/cdproto/log"
	"github.com/chromedp/cdproto/runtime"
	"github.com/chromedp/chromedp"
	"github.com/chromedp/chromedp/kb"

	"github.com/opsdojo/opsdojo/ui"
)

// Options size the window.
type Options struct {
	Width, Height int
	// AllowCSPViolations keeps the test going when a page reports a
	// Content-Security-Policy violation (for tests that provoke one and
	// read CSPViolations themselves).
	AllowCSPViolations bool
}

// cspLog collects the CSP violations a browser's pages report.
type cspLog struct {
	mu   sync.Mutex
	msgs []string
}

func (l *cspLog) add(msg string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.msgs = append(l.msgs, msg)
}

func (l *cspLog) list() []string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return append([]string(nil), l.msgs...)
}

// isCSPViolation tells Chromium's console text for a blocked script,
// style, connection or frame ("Refused to execute inline script because it
// violates the following Content Security Policy directive: …").
func isCSPViolation(text string) bool {
	return strings.Contains(text, "Content Security Policy") || strings.Contains(text, "Content-Security-Policy")
}

// record is the browser-event listener of a cspLog.
func (l *cspLog) record(ev any) {
	switch e := ev.(type) {
	case *log.EventEntryAdded:
		if e.Entry != nil && isCSPViolation(e.Entry.Text) {
			l.add(e.Entry.URL + ": " + e.Entry.Text)
		}
	case *runtime.EventConsoleAPICalled:
		for _, a := range e.Args {
			if a != nil && isCSPViolation(string(a.Value)+a.Description) {
				l.add("console: " + string(a.Value) + a.Description)
			}
		}
	case *runtime.EventExceptionThrown:
		if d := e.ExceptionDetails; d != nil && (isCSPViolation(d.Text) || d.Exception != nil && isCSPViolation(d.Exception.Description)) {
			msg := "exception: " + d.Text
			if d.Exception != nil {
				msg += " " + d.Exception.Description
			}
			l.add(msg)
		}
	}
}

type cspKey struct{}

// CSPViolations returns the Content-Security-Policy violations the pages of
// the browser of ctx (from Chromium) reported so far.
func CSPViolations(ctx context.Context) []string {
	if l, ok := ctx.Value(cspKey{}).(*cspLog); ok {
		return l.list()
	}
	return nil
}

func unavailable(t testing.TB, format string, args ...any) {
	t.Helper()
	if os.Getenv("CI") == "true" {
		t.Fatalf(format, args...)
	}
	t.Skipf(format, args...)
}

// Chromium starts headless Chromium with a fresh profile under parent and
// returns its context; it is closed at test cleanup. The flags keep it off
// the network (no background requests, updates or sync).
func Chromium(t testing.TB, parent context.Context, o Options) context.Context {
	t.Helper()
	path, err := exec.LookPath("chromium")
	if err != nil {
		unavailable(t, "chromium is not installed (scripts/setup-host.sh installs it): %v", err)
	}
	if !ui.AssetsBuilt() {
		unavailable(t, "the front-end bundle is not built into this test binary: run `make ui` first")
	}
	if o.Width == 0 {
		o.Width, o.Height = 1400, 1000
	}
	opts := []chromedp.ExecAllocatorOption{
		chromedp.ExecPath(path),
		chromedp.UserDataDir(t.TempDir()),
		chromedp.Headless, chromedp.NoSandbox, chromedp.DisableGPU, chromedp.NoFirstRun,
		chromedp.NoDefaultBrowserCheck,
		chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true),
		chromedp.Flag("disable-quic", true),
		chromedp.WindowSize(o.Width, o.Height),
	}
	actx, cancelAlloc := chromedp.NewExecAllocator(parent, opts...)
	csp := &cspLog{}
	bctx, cancelBrowser := chromedp.NewContext(actx, chromedp.WithLogf(t.Logf), chromedp.WithListener(csp.record))
	t.Cleanup(func() { cancelBrowser(); cancelAlloc() })
	if err := chromedp.Do(bctx); err != nil {
		unavailable(t, "start chromium: %v", err)
	}
	if !o.AllowCSPViolations {
		// Registered after the browser's cleanup, so it runs first.
		t.Cleanup(func() {
			for _, v := range csp.list() {
				t.Errorf("the page reported a Content-Security-Policy violation: %s", v)
			}
		})
	}
	return context.WithValue(bctx, cspKey{}, csp)
}

// TypeKeys presses keys like a keyboard: keyDown carrying the text, then
// keyUp. (chromedp's SendKeys also sends a "char" event, which xterm.js
// takes as a second copy of each character.) Both xterm.js and CodeMirror
// read it as typing; '\r' and '\n' press Enter.
func TypeKeys(keys string) chromedp.Action[chromedp.Void] {
	return chromedp.Func(func(ctx context.Context, t *chromedp.Target) error {
		for _, r := range keys {
			var down, up *input.DispatchKeyEventParams
			for _, k := range kb.Encode(r) {
				switch k.Type {
				case kb.KeyDown:
					down = k
				case kb.KeyChar:
					down.Text, down.UnmodifiedText = k.Text, k.UnmodifiedText
				case kb.KeyUp:
					up = k
				}
			}
			if r == '\r' || r == '\n' {
				down.Text, down.UnmodifiedText = "\r", "\r"
			}
			for _, k := range []*input.DispatchKeyEventParams{down, up} {
				if _, err := cdp.Call(ctx, t, input.DispatchKeyEvent, *k); err != nil {
					return err
				}
			}
		}
		return nil
	})
}
