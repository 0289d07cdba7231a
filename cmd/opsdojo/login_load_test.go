package main

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
)

// TestLoginMemoryLoad is a load program, not a unit test: it runs only with
// OPSDOJO_LOAD=1. It starts a real `opsdojo serve` process (built from this
// tree, or OPSDOJO_LOAD_BINARY to measure another build), fires 80
// concurrent failed logins for emails that have no account, and reads the
// server's peak resident memory (VmHWM in /proc/PID/status) from outside.
// The figure goes to docs/BENCHMARKS.md; the program fails when the peak
// is 300 MB or more.
//
//	OPSDOJO_LOAD=1 go test ./cmd/opsdojo -run TestLoginMemoryLoad -v -timeout 10m
//
// Each request comes from its own client address (X-Forwarded-For, with
// the loopback proxy trusted) so the per-IP login limit does not hide the
// cost of hashing. OPSDOJO_LOAD_CONCURRENCY changes the 80;
// OPSDOJO_PASSWORD_HASH_WAIT (the server's own setting) lets every login
// wait for its hash instead of being answered 503 after 5s;
// OPSDOJO_LOAD_KIND=signup sends sign-ups (two hashes each) instead.
func TestLoginMemoryLoad(t *testing.T) {
	if os.Getenv("OPSDOJO_LOAD") != "1" {
		t.Skip("load program: set OPSDOJO_LOAD=1 to run it")
	}
	const limitMB = 300
	n := 80
	if v := os.Getenv("OPSDOJO_LOAD_CONCURRENCY"); v != "" {
		var err error
		if n, err = strconv.Atoi(v); err != nil || n < 1 || n > 1000 {
			t.Fatalf("OPSDOJO_LOAD_CONCURRENCY=%q: want 1..1000", v)
		}
	}
	path, what := "/api/v1/login", "failed logins"
	if os.Getenv("OPSDOJO_LOAD_KIND") == "signup" {
		path, what = "/api/v1/register", "sign-ups"
	}
	bin := os.Getenv("OPSDOJO_LOAD_BINARY")
	if bin == "" {
		bin = filepath.Join(t.TempDir(), "opsdojo")
		out, err := exec.Command("go", "build", "-o", bin, ".").CombinedOutput()
		if err != nil {
			t.Fatalf("build opsdojo: %v\n%s", err, out)
		}
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, bin, "serve", "--addr", addr, "--data-dir", t.TempDir(), "--pool-size", "0",
		"--instance", "loadtest-"+strconv.Itoa(os.Getpid()), "--admin-password", "admin password 1", "--log-format", "text", "--log-level", "warn")
	cmd.Dir = "../.." // the shipped library/challenges
	cmd.Env = append(os.Environ(), "OPSDOJO_TRUSTED_PROXIES=127.0.0.1/32")
	logs, _ := cmd.StderrPipe()
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	var logBuf syncBuffer
	go func() { _, _ = io.Copy(&logBuf, logs) }()
	defer func() {
		_ = cmd.Process.Signal(os.Interrupt)
		done := make(chan struct{})
		go func() { _ = cmd.Wait(); close(done) }()
		select {
		case <-done:
		case <-time.After(20 * time.Second):
			_ = cmd.Process.Kill()
		}
		if t.Failed() {
			t.Logf("server log:\n%s", logBuf.String())
		}
	}()
	base := "http://" + addr
	client := &http.Client{Timeout: 2 * time.Minute}
	deadline := time.Now().Add(60 * time.Second)
	for {
		resp, err := client.Get(base + "/healthz")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == 200 {
				break
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("server did not answer /healthz within 60s: %v", err)
		}
		time.Sleep(100 * time.Millisecond)
	}
	idle := peakRSS(t, cmd.Process.Pid)

	// One anonymous CSRF token (cookie + header) serves every request.
	resp, err := client.Get(base + "/api/v1/csrf")
	if err != nil {
		t.Fatal(err)
	}
	var csrf struct {
		Token string `json:"csrf_token"`
	}
	_ = json.NewDecoder(resp.Body).Decode(&csrf)
	resp.Body.Close()
	var cookie string
	for _, c := range resp.Cookies() {
		if c.Name == "opsdojo_csrf" {
			cookie = c.Name + "=" + c.Value
		}
	}
	if csrf.Token == "" || cookie == "" {
		t.Fatal("no anonymous CSRF token from /api/v1/csrf")
	}

	start := time.Now()
	var wg sync.WaitGroup
	var mu sync.Mutex
	codes := map[int]int{}
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			form := url.Values{"email": {fmt.Sprintf("nobody-%d@example.com", i)}, "password": {"not the password"}}
			req, _ := http.NewRequestWithContext(ctx, "POST", base+path, strings.NewReader(form.Encode()))
			req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
			req.Header.Set("X-CSRF-Token", csrf.Token)
			req.Header.Set("Cookie", cookie)
			req.Header.Set("X-Forwarded-For", fmt.Sprintf("198.51.100.%d", i%250+1))
			code := 0
			if resp, err := client.Do(req); err == nil {
				_, _ = io.Copy(io.Discard, resp.Body)
				resp.Body.Close()
				code = resp.StatusCode
			}
			mu.Lock()
			codes[code]++
			mu.Unlock()
		}()
	}
	wg.Wait()
	took := time.Since(start)
	peak := peakRSS(t, cmd.Process.Pid)
	t.Logf("%d concurrent %s in %v: answers %v; server peak RSS (VmHWM) %.0f MB (%.0f MB before the load)", n, what, took.Round(time.Millisecond), codes, peak, idle)
	if peak >= limitMB {
		t.Errorf("peak server memory %.0f MB, want under %d MB", peak, limitMB)
	}
}

// peakRSS reads VmHWM (peak resident set) of pid, in MB.
func peakRSS(t *testing.T, pid int) float64 {
	t.Helper()
	f, err := os.Open(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if rest, ok := strings.CutPrefix(sc.Text(), "VmHWM:"); ok {
			kb, err := strconv.Atoi(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(rest), "kB")))
			if err != nil {
				t.Fatalf("VmHWM %q: %v", rest, err)
			}
			return float64(kb) / 1000
		}
	}
	t.Fatal("no VmHWM in /proc status")
	return 0
}
