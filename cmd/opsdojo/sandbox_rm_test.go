package main

import (
	"context"
	"io"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/opsdojo/opsdojo/sandbox"
	"github.com/opsdojo/opsdojo/sandbox/sandboxtest"
)

// TestSandboxRmExpiredKeepsAttempts: `sandbox rm --expired` removes the
// expired sandboxes of CLI commands and self-tests, but never an attempt's
// (a practice sandbox past its TTL holds the candidate's work until the
// server's reaper hibernates it): those are listed as kept, and removing
// one by its ID still works.
func TestSandboxRmExpiredKeepsAttempts(t *testing.T) {
	t.Parallel()
	dc := sandboxtest.Client(t)
	img := sandboxtest.Image(t, dc)
	inst := sandboxtest.Instance(t, dc)
	ctx := sandboxtest.Context(t, 2*time.Minute)
	m, err := sandbox.NewManager(dc, sandbox.Config{Instance: inst, MaxPerOwner: -1}, slog.New(slog.NewTextHandler(io.Discard, nil)), time.Now)
	if err != nil {
		t.Fatal(err)
	}
	mk := func(attempt string) string {
		sb, err := m.Create(ctx, sandbox.Spec{Image: img, AttemptID: attempt, OwnerID: "u1", TTL: time.Second, Hibernate: !strings.HasPrefix(attempt, "cli-")})
		if err != nil {
			t.Fatal(err)
		}
		return sb.ID
	}
	practice := mk("0f1e2d3c-practice")
	cli := mk("cli-123")
	time.Sleep(1500 * time.Millisecond) // both past their TTL

	code, out, stderr := run(t, nil, "sandbox", "rm", "--expired", "--sandbox-instance", inst)
	if code != 0 || !strings.Contains(out, cli[:12]) || strings.Contains(out, practice[:12]) ||
		!strings.Contains(stderr, "kept 1 expired attempt sandbox") || !strings.Contains(stderr, practice[:12]) {
		t.Fatalf("rm --expired: exit %d\nstdout %s\nstderr %s", code, out, stderr)
	}
	if _, err := dc.ContainerInspect(ctx, practice); err != nil {
		t.Fatalf("the attempt's sandbox was removed: %v", err)
	}
	if _, err := dc.ContainerInspect(context.Background(), cli); err == nil {
		t.Fatalf("the CLI sandbox was kept")
	}
	if code, out, stderr := run(t, nil, "sandbox", "rm", "--sandbox-instance", inst, practice); code != 0 || !strings.Contains(out, practice[:12]) {
		t.Fatalf("rm by ID: exit %d %s %s", code, out, stderr)
	}
}
