package main

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/cdproto/page"
	"github.com/chromedp/chromedp"

	"github.com/opsdojo/opsdojo/ui/browsertest"
)

// acceptDialogs accepts every confirm() the page opens (hint cost, reset).
func acceptDialogs(ctx context.Context) {
	dialogs := chromedp.Events(ctx, page.JavascriptDialogOpening)
	go func() {
		for _, err := range dialogs {
			if err != nil {
				return
			}
			_, _ = chromedp.Call(ctx, page.HandleJavaScriptDialog, page.HandleJavaScriptDialogParams{Accept: true})
		}
	}()
}

// steps runs actions, failing the test with the page's HTML on error.
func steps(t *testing.T, ctx context.Context, name string, actions ...chromedp.Action[chromedp.Void]) {
	t.Helper()
	if err := chromedp.Do(ctx, actions...); err != nil {
		html, _ := chromedp.Run(ctx, chromedp.OuterHTML(chromedp.CSS("body")))
		t.Fatalf("%s: %v\npage:\n%.3000s", name, err, html)
	}
}

func textOf(t *testing.T, ctx context.Context, sel string) string {
	t.Helper()
	s, err := chromedp.Run(ctx, chromedp.Text(chromedp.CSS(sel)))
	if err != nil {
		t.Fatalf("text of %s: %v", sel, err)
	}
	return s
}

func waitJS(expr string, d time.Duration) chromedp.Action[chromedp.Void] {
	return chromedp.Poll[chromedp.Void](expr, chromedp.WithPollingTimeout(d))
}

// TestBrowserPracticeFlow drives Debian's Chromium through the candidate
// flow: register, browse and filter the catalog, start a challenge, edit a
// file, press Check and see partial credit, reveal a hint, reset.
func TestBrowserPracticeFlow(t *testing.T) {
	t.Parallel()
	srv := startServer(t, "testdata/challenges")
	ctx := chromium(t)
	acceptDialogs(ctx)

	steps(t, ctx, "register",
		chromedp.Navigate(srv.URL+"/register"),
		chromedp.SendKeys(chromedp.CSS(`input[name=name]`), "Grace"),
		chromedp.SendKeys(chromedp.CSS(`input[name=email]`), "grace@example.com"),
		chromedp.SendKeys(chromedp.CSS(`input[name=password]`), "compilers rock"),
		chromedp.Submit(chromedp.CSS(`input[name=password]`)),
		chromedp.WaitVisible(chromedp.CSS(`#who`)),
	)
	if who := textOf(t, ctx, "#who"); !strings.Contains(who, "Grace") {
		t.Fatalf("logged-in banner %q", who)
	}
	steps(t, ctx, "log out, wrong password, log in",
		chromedp.Submit(chromedp.CSS(`header form`)),
		chromedp.WaitVisible(chromedp.CSS(`header a[href="/login"]`)),
		chromedp.Navigate(srv.URL+"/login"),
		chromedp.SendKeys(chromedp.CSS(`input[name=email]`), "grace@example.com"),
		chromedp.SendKeys(chromedp.CSS(`input[name=password]`), "wrong password"),
		chromedp.Submit(chromedp.CSS(`input[name=password]`)),
		chromedp.WaitVisible(chromedp.CSS(`#form-error`)),
	)
	if msg := textOf(t, ctx, "#form-error"); msg != "wrong email or password" {
		t.Fatalf("login error %q", msg)
	}
	steps(t, ctx, "log in",
		// the page kept the email and cleared the password
		chromedp.SendKeys(chromedp.CSS(`input[name=password]`), "compilers rock"),
		chromedp.Submit(chromedp.CSS(`input[name=password]`)),
		chromedp.WaitVisible(chromedp.CSS(`#who`)),
	)
	steps(t, ctx, "catalog filter",
		chromedp.Navigate(srv.URL+"/challenges?kind=dockerfile"),
		chromedp.WaitVisible(chromedp.CSS(`#filters`)),
	)
	if txt := textOf(t, ctx, "main"); !strings.Contains(txt, "No challenge matches") {
		t.Fatalf("kind filter did not filter: %q", txt)
	}
	steps(t, ctx, "start",
		chromedp.Navigate(srv.URL+"/challenges"),
		chromedp.WaitVisible(chromedp.CSS(`li.card[data-id="edit-config"]`)),
		chromedp.Click(chromedp.CSS(`li.card[data-id="edit-config"] a`)),
		chromedp.WaitVisible(chromedp.CSS(`#start`)),
		chromedp.Click(chromedp.CSS(`#start`)),
		chromedp.WaitVisible(chromedp.CSS(`#workspace`)),
		// the editor loads the starter file from the sandbox
		waitJS(`document.getElementById("editor-text").value.includes("port = 80")`, 30*time.Second),
	)
	steps(t, ctx, "unsolved check",
		chromedp.Click(chromedp.CSS(`#check-btn`)),
		chromedp.WaitVisible(chromedp.CSS(`#results .check`)),
	)
	if s := textOf(t, ctx, "#score"); s != "0" {
		t.Fatalf("unsolved score %q, want 0", s)
	}
	// The terminal: type a command in xterm.js and read it back from its
	// buffer; it runs in the challenge's sandbox (the starter file is there).
	if err := chromedp.Do(ctx, waitJS(`window.opsdojoTerminals && window.opsdojoTerminals[0] && window.opsdojoTerminals[0].list[0] && window.opsdojoTerminals[0].list[0].state === "connected"`, 60*time.Second)); err != nil {
		st, _ := chromedp.Run(ctx, chromedp.Evaluate[string](`JSON.stringify({n: (window.opsdojoTerminals||[]).length, state: window.opsdojoTerminals && window.opsdojoTerminals[0] && window.opsdojoTerminals[0].list[0] && window.opsdojoTerminals[0].list[0].state, status: (document.querySelector(".od-status")||{}).textContent, html: document.getElementById("terminal").innerHTML.slice(0, 400)})`))
		t.Fatalf("terminal never opened: %v; %s", err, st)
	}
	// A first window on a (pool, pre-spawned) shell is not a reconnect.
	if s := textOf(t, ctx, ".od-status"); s != "Connected." {
		t.Fatalf("terminal status on first connect %q, want %q", s, "Connected.")
	}
	steps(t, ctx, "terminal",
		waitJS(`window.opsdojoTerminals && window.opsdojoTerminals[0] && window.opsdojoTerminals[0].list[0] && window.opsdojoTerminals[0].list[0].state === "connected"`, 60*time.Second),
		chromedp.Focus(chromedp.CSS(".xterm-helper-textarea")),
		browsertest.TypeKeys("echo hello-$((6*7)) && cat /workspace/app.conf\r"),
		waitJS(`(() => { const b = window.opsdojoTerminals[0].list[0].term.buffer.active; const out = [];
			for (let i = 0; i < b.length; i++) { const l = b.getLine(i); if (l) out.push(l.translateToString(true).trim()); }
			return out.includes("hello-42") && out.includes("port = 80"); })()`, 30*time.Second),
	)
	// The editor is CodeMirror: select everything and type the new text.
	steps(t, ctx, "edit in CodeMirror, save and check half a fix",
		chromedp.WaitVisible(chromedp.CSS(`#editor .cm-content`)),
		chromedp.Click(chromedp.CSS(`#editor .cm-content`)),
		chromedp.Evaluate[chromedp.Void](`document.execCommand("selectAll")`),
		browsertest.TypeKeys("port = 8080\rdebug = true\r"),
		waitJS(`document.getElementById("editor-text").value.startsWith("port = 8080\ndebug = true")`, 10*time.Second),
		chromedp.Click(chromedp.CSS(`#check-btn`)), // saves first, then checks
		waitJS(`document.getElementById("score") && document.getElementById("score").textContent === "50"`, 60*time.Second),
	)
	if txt := textOf(t, ctx, "#results"); !strings.Contains(txt, "listens on 8080") || !strings.Contains(txt, "does not match") {
		t.Fatalf("per-check results missing: %q", txt)
	}
	if dir := os.Getenv("OPSDOJO_SCREENSHOTS"); dir != "" {
		if shot, err := chromedp.Run(ctx, chromedp.FullScreenshot(100)); err == nil {
			_ = os.WriteFile(filepath.Join(dir, "workspace.png"), shot, 0o644)
		}
	}
	steps(t, ctx, "hint",
		chromedp.Click(chromedp.CSS(`.hint-btn`)),
		chromedp.WaitVisible(chromedp.CSS(`#hints li p`)),
	)
	if h := textOf(t, ctx, "#hints li p"); h != "Two lines need a change." {
		t.Fatalf("hint text %q", h)
	}
	steps(t, ctx, "reset",
		chromedp.Evaluate[chromedp.Void](`window.beforeReset = true`),
		chromedp.Click(chromedp.CSS(`#reset-btn`)),
	)
	// The page reloads when the fresh sandbox is ready; evaluations fail
	// while it navigates, so retry until the new page shows the starter.
	deadline := time.Now().Add(90 * time.Second)
	for {
		ok, err := chromedp.Run(ctx, chromedp.Evaluate[bool](`!window.beforeReset && !!document.getElementById("editor-text") && document.getElementById("editor-text").value === "port = 80\ndebug = true\n"`))
		if err == nil && ok {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("reset did not give a fresh sandbox with the starter file (last error %v)", err)
		}
		time.Sleep(250 * time.Millisecond)
	}
}
