package main

import (
	"bytes"
	"context"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/opsdojo/opsdojo/sandbox/sandboxtest"
	"github.com/opsdojo/opsdojo/ui/browsertest"
)

// server is an opsdojo serve process run in-process for end-to-end tests,
// with the real wiring (SQLite, dockerd, grader, catalog).
type e2eServer struct {
	URL      string
	DataDir  string
	Instance string
	// Stop shuts the server down (as SIGTERM does) and waits for it.
	Stop   func()
	stderr *syncBuffer
}

type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// startServer runs `opsdojo serve` on a free port with the given challenge
// directories and returns when it listens; it stops at test cleanup.
func startServer(t *testing.T, challengeDirs string, extra ...string) *e2eServer {
	t.Helper()
	dc := sandboxtest.Client(t)
	sandboxtest.Image(t, dc)
	inst := sandboxtest.Instance(t, dc)
	errb := &syncBuffer{}
	addr := make(chan string, 1)
	app := &cli{stdin: strings.NewReader(""), stdout: errb, stderr: errb, getenv: func(string) string { return "" }, onListen: func(a string) { addr <- a }}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan int, 1)
	dataDir := t.TempDir()
	args := append([]string{"serve", "--addr", "127.0.0.1:0", "--data-dir", dataDir, "--challenges", challengeDirs,
		"--instance", inst, "--pool-size", "1", "--log-format", "text", "--admin-password", "admin password 1",
		"--catalog-reload", "500ms"}, extra...)
	go func() { done <- app.main(ctx, args) }()
	var once sync.Once
	stop := func() {
		once.Do(func() {
			cancel()
			select {
			case <-done:
			case <-time.After(60 * time.Second):
				t.Error("serve did not stop within 60s")
			}
		})
	}
	t.Cleanup(func() {
		stop()
		if t.Failed() {
			t.Logf("server log:\n%s", errb.String())
		}
	})
	select {
	case a := <-addr:
		return &e2eServer{URL: "http://" + a, DataDir: dataDir, Instance: inst, Stop: stop, stderr: errb}
	case code := <-done:
		t.Fatalf("serve exited with %d:\n%s", code, errb.String())
	case <-time.After(60 * time.Second):
		t.Fatalf("serve did not listen within 60s:\n%s", errb.String())
	}
	return nil
}

// chromium returns a browser context on Debian's chromium with a 4-minute
// deadline for the whole flow.
func chromium(t *testing.T) context.Context {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 4*time.Minute)
	t.Cleanup(cancel)
	return browsertest.Chromium(t, ctx, browsertest.Options{})
}
