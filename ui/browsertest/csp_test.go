package browsertest_test

import (
	"context"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/cdproto/page"
	"github.com/chromedp/chromedp"

	"github.com/opsdojo/opsdojo/ui"
	"github.com/opsdojo/opsdojo/ui/browsertest"
)

// TestCSPViolationsAreRecorded keeps the automatic CSP check of Chromium
// honest: a page whose inline script and onclick attribute the policy
// blocks is reported, and a page that keeps to the policy is not.
func TestCSPViolationsAreRecorded(t *testing.T) {
	t.Parallel()
	mux := http.NewServeMux()
	page := func(body string) http.HandlerFunc {
		return func(w http.ResponseWriter, _ *http.Request) {
			w.Header().Set("Content-Security-Policy", "default-src 'self'; script-src 'self'")
			w.Header().Set("Content-Type", "text/html; charset=utf-8")
			_, _ = w.Write([]byte("<!doctype html><title>t</title>" + body))
		}
	}
	mux.HandleFunc("/clean", page(`<p id="ok">clean</p><script src="/ok.js"></script>`))
	mux.HandleFunc("/ok.js", func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "text/javascript")
		_, _ = w.Write([]byte(`document.getElementById("ok").dataset.ran = "1";`))
	})
	mux.HandleFunc("/dirty", page(`<p id="p">x</p><script>document.title = "ran"</script><button id="b" onclick="document.title='clicked'">b</button>`))
	srv := httptest.NewServer(mux)
	t.Cleanup(srv.Close)

	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	t.Cleanup(cancel)
	ctx = browsertest.Chromium(t, ctx, browsertest.Options{AllowCSPViolations: true})

	if err := chromedp.Do(ctx, chromedp.Navigate(srv.URL+"/clean"), chromedp.WaitVisible(chromedp.CSS(`#ok[data-ran="1"]`))); err != nil {
		t.Fatal(err)
	}
	if v := browsertest.CSPViolations(ctx); len(v) != 0 {
		t.Fatalf("a clean page reported violations: %q", v)
	}
	if err := chromedp.Do(ctx, chromedp.Navigate(srv.URL+"/dirty"), chromedp.Click(chromedp.CSS("#b"))); err != nil {
		t.Fatal(err)
	}
	var v []string
	for i := 0; i < 50; i++ { // bounded: the console events arrive shortly after
		if v = browsertest.CSPViolations(ctx); len(v) >= 2 {
			break
		}
		time.Sleep(100 * time.Millisecond)
	}
	joined := strings.Join(v, "\n")
	if len(v) < 2 || !strings.Contains(joined, "inline script") {
		t.Fatalf("want the inline script and the onclick reported, got %q", v)
	}
	title, err := chromedp.Run(ctx, chromedp.Title())
	if err != nil {
		t.Fatal(err)
	}
	if title != "t" {
		t.Fatalf("a blocked script ran: title %q", title)
	}
}

// TestPageBehavioursUnderCSP runs the built bundle's data-* behaviours
// (ui/src/pages.js, which replaced the templates' inline scripts and on*
// attributes) on a page served with a strict policy: the countdown counts,
// the submit confirmation asks (and cancelling keeps the form from
// submitting), select-on-click selects, and data-reload-after reloads.
func TestPageBehavioursUnderCSP(t *testing.T) {
	t.Parallel()
	var mu sync.Mutex
	loads, posts := 0, 0
	deadline := time.Now().Add(time.Hour + 5*time.Minute).UTC().Format(time.RFC3339)
	mux := http.NewServeMux()
	mux.Handle("/static/", http.StripPrefix("/static/", http.FileServerFS(ui.Assets())))
	mux.HandleFunc("/page", func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		loads++
		n := loads
		mu.Unlock()
		reload := ""
		if n == 1 {
			reload = `<div hidden data-reload-after="200"></div>`
		}
		w.Header().Set("Content-Security-Policy", "default-src 'self'; script-src 'self' 'wasm-unsafe-eval'; style-src 'self' 'unsafe-inline'; img-src 'self' data:")
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		_, _ = w.Write([]byte(`<!doctype html><title>t</title><script defer src="/static/app.js"></script>
<span id="time-left" data-countdown="` + deadline + `">--:--</span>
<input id="link" readonly value="http://example.test/invite/abc" data-select-on-click>
<form method="post" action="/submit" id="f" data-confirm="Submit your work?"><button id="go" type="submit">go</button></form>
<button id="print" type="button" data-print>print</button>` + reload))
	})
	mux.HandleFunc("/submit", func(w http.ResponseWriter, _ *http.Request) {
		mu.Lock()
		posts++
		mu.Unlock()
		_, _ = w.Write([]byte("submitted"))
	})
	srv := httptest.NewServer(mux)
	t.Cleanup(srv.Close)

	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	t.Cleanup(cancel)
	ctx = browsertest.Chromium(t, ctx, browsertest.Options{})
	poll := func(expr string) chromedp.Action[chromedp.Void] {
		return chromedp.Poll[chromedp.Void](expr, chromedp.WithPollingTimeout(15*time.Second))
	}
	if err := chromedp.Do(ctx, chromedp.Navigate(srv.URL+"/page")); err != nil {
		t.Fatal(err)
	}
	// data-reload-after: the first load reloads itself after 200 ms.
	for i := 0; i < 150; i++ { // bounded: 15 s
		mu.Lock()
		n := loads
		mu.Unlock()
		if n >= 2 {
			break
		}
		time.Sleep(100 * time.Millisecond)
	}
	if err := chromedp.Do(ctx,
		chromedp.WaitVisible(chromedp.CSS("#print")),
		poll(`!document.querySelector("[data-reload-after]")`),
		poll(`/^1:0[45]:\d\d$/.test(document.getElementById("time-left").textContent)`),
		chromedp.Click(chromedp.CSS("#link")),
		poll(`(() => { const el = document.getElementById("link"); return el.selectionStart === 0 && el.selectionEnd === el.value.length })()`),
	); err != nil {
		html, _ := chromedp.Run(ctx, chromedp.OuterHTML(chromedp.CSS("body")))
		t.Fatalf("%v\n%s", err, html)
	}
	mu.Lock()
	if loads != 2 {
		t.Errorf("page loaded %d times, want 2 (data-reload-after)", loads)
	}
	mu.Unlock()

	// Submit: the confirmation opens; cancelled, nothing is posted.
	dialogs := chromedp.Events(ctx, page.JavascriptDialogOpening)
	seen := make(chan string, 1)
	go func() {
		for ev, err := range dialogs {
			if err != nil {
				return
			}
			seen <- ev.Message
			_, _ = chromedp.Call(ctx, page.HandleJavaScriptDialog, page.HandleJavaScriptDialogParams{Accept: false})
			return
		}
	}()
	// A listener added after the bundle's sees whether it cancelled the
	// submission (DevTools' Evaluate is not subject to the page's CSP).
	if err := chromedp.Do(ctx,
		chromedp.Evaluate[chromedp.Void](`document.getElementById("f").addEventListener("submit", (e) => { window.prevented = e.defaultPrevented })`),
		chromedp.Click(chromedp.CSS("#go")),
		poll(`window.prevented === true`),
	); err != nil {
		t.Fatal(err)
	}
	select {
	case msg := <-seen:
		if msg != "Submit your work?" {
			t.Fatalf("confirmation %q", msg)
		}
	case <-time.After(15 * time.Second):
		t.Fatal("no confirmation before submitting")
	}
	mu.Lock()
	defer mu.Unlock()
	if posts != 0 {
		t.Fatalf("the form was submitted although the confirmation was cancelled")
	}
}
