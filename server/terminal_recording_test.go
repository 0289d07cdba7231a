package server_test

import (
	"bytes"
	"compress/gzip"
	"context"
	"io"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/opsdojo/opsdojo/recording"
	"github.com/opsdojo/opsdojo/termclient"
)

// httpGet fetches path from the test server.
func (e *termEnv) httpGet(t testing.TB, path string) (int, http.Header, []byte) {
	t.Helper()
	ctx, cancel := context.WithTimeout(e.ctx, stepTimeout)
	defer cancel()
	req, _ := http.NewRequestWithContext(ctx, http.MethodGet, e.base+path, nil)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("GET %s: %v", path, err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, resp.Header, b
}

// waitRecording waits until the attempt's recording of term is finished.
func (e *termEnv) waitRecording(t testing.TB, attemptID, term string) recording.Meta {
	t.Helper()
	deadline := time.Now().Add(stepTimeout)
	for {
		rs, err := e.st.RecordingsByAttempt(e.ctx, attemptID)
		if err != nil {
			t.Fatal(err)
		}
		for _, r := range rs {
			if r.Terminal == term && r.EndedAt != nil {
				return r
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("no finished recording of %s/%s: %+v", attemptID, term, rs)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// TestTerminalRecording: what the candidate saw is recorded (with input
// and resizes) and replays to the same output through the replay routes.
func TestTerminalRecording(t *testing.T) {
	e := newTermEnv(t, envOptions{grace: 10 * time.Second, record: true})
	sb := e.newSandbox(t)

	var shown safeBuffer
	c := e.dial(t, e.ctx, sb, "1", termclient.Options{Cols: 100, Rows: 30, Transcript: &shown})
	typed := "echo one-$((0+1)); printf 'h\\303\\251llo \\342\\234\\223\\n'\n"
	send(t, c, typed)
	expect(t, c, "héllo ✓")
	if err := c.Resize(120, 40); err != nil {
		t.Fatal(err)
	}
	send(t, c, "stty size\n")
	expect(t, c, "40 120")
	send(t, c, "exit\n")
	closeOf(t, c)

	rec := e.waitRecording(t, sb.attemptID, "1")
	if rec.Error != "" || rec.Events == 0 || rec.Bytes == 0 || !strings.HasSuffix(rec.Path, "/1-1.cast.gz") {
		t.Fatalf("recording row = %+v", rec)
	}
	code, hdr, body := e.httpGet(t, "/recordings/"+rec.ID+"/cast")
	if code != http.StatusOK || !strings.HasPrefix(hdr.Get("Content-Type"), "application/x-asciicast") {
		t.Fatalf("cast: %d %s", code, hdr.Get("Content-Type"))
	}
	h, evs, err := recording.Parse(bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	if h.Width != 100 || h.Height != 30 {
		t.Errorf("header size %dx%d, want 100x30", h.Width, h.Height)
	}
	if got, all := recording.Output(evs), shown.String(); got != all {
		t.Errorf("replayed output differs from what the terminal showed\nreplay: %q\nshown:  %q", got, all)
	}
	var input strings.Builder
	resized := false
	for _, ev := range evs {
		switch ev.Kind {
		case "i":
			input.WriteString(ev.Data)
		case "r":
			resized = resized || ev.Data == "120x40"
		}
	}
	if want := typed + "stty size\nexit\n"; input.String() != want {
		t.Errorf("recorded input %q, want %q", input.String(), want)
	}
	if !resized {
		t.Errorf("no resize event 120x40 in %v", evs)
	}

	code, hdr, gz := e.httpGet(t, "/recordings/"+rec.ID+"/download")
	if code != http.StatusOK || !strings.Contains(hdr.Get("Content-Disposition"), ".cast.gz") {
		t.Fatalf("download: %d %v", code, hdr)
	}
	zr, err := gzip.NewReader(bytes.NewReader(gz))
	if err != nil {
		t.Fatal(err)
	}
	if plain, _ := io.ReadAll(zr); !bytes.Equal(plain, body) {
		t.Error("download does not decompress to the cast")
	}
	if code, _, _ := e.httpGet(t, "/recordings/nope"); code != http.StatusNotFound {
		t.Errorf("unknown recording: %d, want 404", code)
	}

	// The replay page plays it in a browser (asciinema-player).
	bctx := newBrowser(t, e.ctx)
	if err := chromedp.Do(bctx, chromedp.Navigate(e.base+"/recordings/"+rec.ID)); err != nil {
		t.Fatal(err)
	}
	waitJS(t, bctx, `(() => { const p = window.opsdojoReplay; return p ? p.getDuration() || 0 : 0; })()`, "the player to load the cast",
		func(d float64) bool { return d > 0 })
	// Seek to the end: the player's screen shows the session's output.
	if _, err := chromedp.Run(bctx, chromedp.Evaluate[any](`window.opsdojoReplay.seek(window.opsdojoReplay.getDuration())`)); err != nil {
		t.Fatal(err)
	}
	waitJS(t, bctx, `document.querySelector(".ap-term") ? document.querySelector(".ap-term").textContent : ""`, "the replayed screen",
		func(s string) bool { return strings.Contains(s, "one-1") && strings.Contains(s, "héllo ✓") })
}

// safeBuffer is a bytes.Buffer safe for one writer and one reader.
type safeBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *safeBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *safeBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}
