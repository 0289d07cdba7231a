package main

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/opsdojo/opsdojo/sandbox"
	"github.com/opsdojo/opsdojo/sandbox/sandboxtest"
)

// TestIdlePracticeSandboxKeepsWork runs the real server with a one-second
// idle timeout: the idle practice sandbox is hibernated (not deleted), the
// next Check restores it with the saved file and scores it; once its
// sandbox is truly gone, Check answers 410 with a plain message and the
// stored score stays.
func TestIdlePracticeSandboxKeepsWork(t *testing.T) {
	t.Parallel()
	srv, cl, id := startIdleAttempt(t)
	dc := sandboxtest.Client(t)
	ctx := sandboxtest.Context(t, 3*time.Minute)
	if code := cl.json("PUT", "/api/v1/attempts/"+id+"/files?path=/workspace/app.conf", map[string]string{"content": "port = 8080\ndebug = true\n"}, nil); code != 200 {
		t.Fatalf("save: %d", code)
	}
	waitHibernated(t, ctx, dc, srv.Instance, id)

	var res struct {
		Score int `json:"score"`
	}
	if code := cl.json("POST", "/api/v1/attempts/"+id+"/check", nil, &res); code != 200 || res.Score != 50 {
		t.Fatalf("check after hibernation: %d score %d (the saved file must have survived)", code, res.Score)
	}

	// Truly gone: hibernated again, then its image deleted.
	waitHibernated(t, ctx, dc, srv.Instance, id)
	removeHibernationImages(t, dc, srv.Instance, id)
	code, body := cl.do("POST", "/api/v1/attempts/"+id+"/check", nil, "application/json")
	if code != 410 || !strings.Contains(body, "gone") || strings.Contains(body, "sandbox not found") {
		t.Fatalf("check on a gone sandbox: %d %s", code, body)
	}
	if code := cl.json("GET", "/api/v1/attempts/"+id+"/results", nil, &res); code != 200 || res.Score != 50 {
		t.Fatalf("results after a check on a gone sandbox: %d score %d, want 50", code, res.Score)
	}
}

// waitHibernated waits (bounded) until the attempt has no container and a
// hibernation image.
func waitHibernated(t *testing.T, ctx context.Context, dc sandboxtest.Docker, inst, attempt string) {
	t.Helper()
	for i := 0; i < 120; i++ {
		cs := sandboxtest.Containers(t, dc, sandbox.LabelInstance+"="+inst, sandbox.LabelAttempt+"="+attempt)
		imgs := sandboxtest.Images(t, dc, sandbox.LabelInstance+"="+inst, sandbox.LabelHibernated+"="+attempt)
		if len(cs) == 0 && len(imgs) == 1 {
			return
		}
		select {
		case <-ctx.Done():
			t.Fatalf("attempt %s not hibernated: %v", attempt, ctx.Err())
		case <-time.After(500 * time.Millisecond):
		}
	}
	t.Fatalf("attempt %s not hibernated within 60s", attempt)
}

// removeHibernationImages deletes the instance's hibernation images (of
// one attempt when attempt is set).
func removeHibernationImages(t *testing.T, dc sandboxtest.Docker, inst, attempt string) {
	t.Helper()
	hib := sandbox.LabelHibernated
	if attempt != "" {
		hib += "=" + attempt
	}
	sandboxtest.RemoveImages(t, dc, sandbox.LabelInstance+"="+inst, hib)
}

// startIdleAttempt serves the test challenges with a one-second idle
// timeout and no pool, logs in as the admin and starts an edit-config
// attempt; hibernation images of the server are removed at cleanup.
func startIdleAttempt(t *testing.T) (srv *e2eServer, cl *apiClient, attemptID string) {
	t.Helper()
	dc := sandboxtest.Client(t)
	srv = startServer(t, "testdata/challenges", "--sandbox-idle-timeout", "1s", "--pool-size", "0")
	t.Cleanup(func() { removeHibernationImages(t, dc, srv.Instance, "") })
	cl = newClient(t, srv.URL)
	cl.login("admin@opsdojo.local", "admin password 1")
	var started struct {
		Attempt struct{ ID string } `json:"attempt"`
	}
	if code := cl.json("POST", "/api/v1/challenges/edit-config/attempts", nil, &started); code != 201 {
		t.Fatalf("start: %d", code)
	}
	return srv, cl, started.Attempt.ID
}
