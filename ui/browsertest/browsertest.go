// Package browsertest starts Debian's Chromium for browser tests of the
// opsdojo pages (chromedp) and types into them the way a keyboard does.
// It skips a test when Chromium or the front-end bundle is missing, and
// fails it instead under CI=true.
package browsertest

import (
	"context"
	"os"
	"os/exec"
	"testing"

	"github.com/chromedp/cdproto/cdp"
	"github.com/chromedp/cdproto/input"
	"github.com/chromedp/chromedp"
	"github.com/chromedp/chromedp/kb"

	"github.com/opsdojo/opsdojo/ui"
)

// Options size the window.
type Options struct {
	Width, Height int
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
	bctx, cancelBrowser := chromedp.NewContext(actx, chromedp.WithLogf(t.Logf))
	t.Cleanup(func() { cancelBrowser(); cancelAlloc() })
	if err := chromedp.Do(bctx); err != nil {
		unavailable(t, "start chromium: %v", err)
	}
	return bctx
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
