package browsertest_test

import (
	"context"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

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
