package terminal_test

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/gorilla/websocket"

	"github.com/opsdojo/opsdojo/terminal"
)

// TestOversizedFrameClosesWith1009: a client frame above MaxFrameBytes
// (70 KB here) gets a close frame with code 1009 and a reason the client
// can read, not a TCP reset. The server used to close the socket with the
// rest of the frame unread, which makes the kernel answer with RST, and
// the client's read failed with "connection reset by peer".
func TestOversizedFrameClosesWith1009(t *testing.T) {
	t.Parallel()
	h := newHarness(t, terminal.Config{}, &fakeAttacher{})
	for i := range 5 { // the reset was a race: try several times
		tk, err := h.tickets.Issue("u", "att", "sb", "1")
		if err != nil {
			t.Fatal(err)
		}
		ctx, cancel := context.WithTimeout(context.Background(), testTimeout)
		ws, _, err := websocket.DefaultDialer.DialContext(ctx, "ws"+strings.TrimPrefix(h.srv.URL, "http")+"/?ticket="+tk, nil)
		cancel()
		if err != nil {
			t.Fatal(err)
		}
		_ = ws.SetReadDeadline(time.Now().Add(testTimeout))
		if _, msg, err := ws.ReadMessage(); err != nil || !strings.Contains(string(msg), `"hello"`) {
			t.Fatalf("hello: %q, %v", msg, err)
		}
		// The frame goes out in pieces, as over a real network: the last
		// ones arrive after the server has seen the limit pass.
		w, err := ws.NextWriter(websocket.BinaryMessage)
		if err != nil {
			t.Fatal(err)
		}
		for j := range 7 {
			if _, err := w.Write(make([]byte, 10_000)); err != nil {
				t.Fatalf("try %d: writing piece %d of a 70 KB frame: %v (the server reset the connection)", i, j, err)
			}
			time.Sleep(10 * time.Millisecond)
		}
		if err := w.Close(); err != nil {
			t.Fatalf("try %d: end of a 70 KB frame: %v (the server reset the connection)", i, err)
		}
		var ce *websocket.CloseError
		for {
			_, _, err = ws.ReadMessage()
			if err != nil {
				break
			}
		}
		_ = ws.Close()
		if !errors.As(err, &ce) {
			t.Fatalf("try %d: read after a 70 KB frame ended with %v, want a close frame with code %d", i, err, websocket.CloseMessageTooBig)
		}
		if ce.Code != websocket.CloseMessageTooBig || !strings.Contains(ce.Text, "larger than") {
			t.Fatalf("try %d: close %d %q, want %d with a reason", i, ce.Code, ce.Text, websocket.CloseMessageTooBig)
		}
	}
}
