package main

import (
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/opsdojo/opsdojo/sandbox"
	"github.com/opsdojo/opsdojo/sandbox/sandboxtest"
)

// TestRestartKeepsLiveSandboxesAndLeavesNoOrphan: a server with a live
// attempt stops; a sandbox nobody owns is left behind (as a crash would
// leave one). The next server on the same data dir adopts the attempt's
// sandbox (the candidate keeps working) and removes the orphan.
func TestRestartKeepsLiveSandboxesAndLeavesNoOrphan(t *testing.T) {
	t.Parallel()
	dc := sandboxtest.Client(t)
	first := startServer(t, "testdata/challenges")
	cl := newClient(t, first.URL)
	cl.login("admin@opsdojo.local", "admin password 1")
	var started struct {
		Attempt struct{ ID string } `json:"attempt"`
	}
	if code := cl.json("POST", "/api/v1/challenges/edit-config/attempts", nil, &started); code != 201 {
		t.Fatalf("start: %d", code)
	}
	if code := cl.json("PUT", "/api/v1/attempts/"+started.Attempt.ID+"/files?path=/workspace/app.conf", map[string]string{"content": "port = 8080\ndebug = true\n"}, nil); code != 200 {
		t.Fatalf("save: %d", code)
	}
	// An orphan: a sandbox of this instance whose attempt the store has never heard of.
	m, err := sandbox.NewManager(dc, sandbox.Config{Instance: first.Instance, MaxPerOwner: -1}, slog.New(slog.DiscardHandler), time.Now)
	if err != nil {
		t.Fatal(err)
	}
	ctx := sandboxtest.Context(t, 3*time.Minute)
	orphan, err := m.Create(ctx, sandbox.Spec{Image: sandboxtest.Image(t, dc), AttemptID: "ghost-attempt", OwnerID: "ghost"})
	if err != nil {
		t.Fatal(err)
	}
	first.Stop()

	second := startServer(t, "testdata/challenges", "--data-dir", first.DataDir, "--instance", first.Instance)
	if sandboxtest.Exists(t, dc, orphan.ID) {
		t.Fatalf("orphan sandbox %s survived the restart", orphan.ID[:12])
	}
	cl2 := newClient(t, second.URL)
	cl2.login("admin@opsdojo.local", "admin password 1")
	var res struct {
		Score int `json:"score"`
	}
	if code := cl2.json("POST", "/api/v1/attempts/"+started.Attempt.ID+"/check", nil, &res); code != 200 || res.Score != 50 {
		t.Fatalf("check after restart: %d score %d (the work saved before the restart must still be there)", code, res.Score)
	}
	// Nothing of this instance is left but the adopted sandbox and the pool.
	for _, c := range sandboxtest.Containers(t, dc, "io.opsdojo.instance="+first.Instance) {
		name := strings.Join(c.Names, ",")
		if strings.Contains(name, "ghost") || c.ID == orphan.ID {
			t.Errorf("leftover container %s %s", c.ID[:12], name)
		}
	}
}
