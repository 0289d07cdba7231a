package main

import (
	"strings"
	"testing"
	"time"

	"github.com/opsdojo/opsdojo/sandbox/sandboxtest"
	"github.com/opsdojo/opsdojo/termclient"
)

// restoredNotice is what the workspace says when it restored the sandbox.
const restoredNotice = "Your sandbox was restored after being idle"

// TestHibernatedSandboxReconnects runs the real server with a one-second
// idle timeout. A workspace page left open while its sandbox hibernated
// asks for a new terminal ticket: the ticket restores the sandbox (not a
// ticket to the removed container), and the new terminal sees the saved
// file. Opening the workspace of a hibernated sandbox restores it and
// says so; a workspace whose sandbox was not restored says nothing.
func TestHibernatedSandboxReconnects(t *testing.T) {
	t.Parallel()
	srv, cl, id := startIdleAttempt(t)
	dc := sandboxtest.Client(t)
	ctx := sandboxtest.Context(t, 4*time.Minute)
	if code, page := cl.do("GET", "/attempts/"+id, nil, ""); code != 200 || strings.Contains(page, restoredNotice) {
		t.Fatalf("workspace of a fresh sandbox: %d, restored notice shown: %v", code, strings.Contains(page, restoredNotice))
	}
	if code := cl.json("PUT", "/api/v1/attempts/"+id+"/files?path=/workspace/app.conf", map[string]string{"content": "port = 8080\ndebug = kept\n"}, nil); code != 200 {
		t.Fatalf("save: %d", code)
	}
	waitHibernated(t, ctx, dc, srv.Instance, id)

	// The page stayed open: its terminal reconnects with a new ticket.
	var tk struct {
		URL string `json:"url"`
	}
	if code := cl.json("POST", "/api/v1/attempts/"+id+"/terminals/1/ticket", nil, &tk); code != 200 {
		t.Fatalf("ticket on a hibernated sandbox: %d", code)
	}
	term, err := termclient.Dial(ctx, srv.URL+tk.URL, "", termclient.Options{})
	if err != nil {
		t.Fatalf("terminal after hibernation: %v", err)
	}
	if _, err := term.Write([]byte("grep debug /workspace/app.conf; echo do''ne\r")); err != nil {
		t.Fatal(err)
	}
	out, err := term.Expect(ctx, "done")
	term.Close()
	if err != nil || !strings.Contains(out, "debug = kept") {
		t.Fatalf("terminal after hibernation: %q %v", out, err)
	}

	// Hibernated again, then the workspace is opened: restored, with the notice.
	waitHibernated(t, ctx, dc, srv.Instance, id)
	if code, page := cl.do("GET", "/attempts/"+id, nil, ""); code != 200 || !strings.Contains(page, restoredNotice) {
		t.Fatalf("workspace of a hibernated sandbox: %d, restored notice shown: %v", code, strings.Contains(page, restoredNotice))
	}
}
