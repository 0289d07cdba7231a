package main

import (
	"bufio"
	"io"
	"net"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"
)

// freeAddr returns a loopback address with a port free a moment ago.
func freeAddr(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	return addr
}

// series reads a /metrics text exposition into "name{labels}" -> value.
type series map[string]float64

func scrapeMetrics(t *testing.T, url string) series {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		t.Fatalf("scrape %s: %v", url, err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		b, _ := io.ReadAll(resp.Body)
		t.Fatalf("scrape %s: %d %s", url, resp.StatusCode, b)
	}
	out := series{}
	sc := bufio.NewScanner(resp.Body)
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	for sc.Scan() {
		line := sc.Text()
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		i := strings.LastIndexByte(line, ' ')
		v, err := strconv.ParseFloat(line[i+1:], 64)
		if err != nil {
			t.Fatalf("bad exposition line %q", line)
		}
		out[line[:i]] = v
	}
	return out
}

// sum adds the series named name whose labels contain every one of labels
// (each written as key="value").
func (s series) sum(name string, labels ...string) float64 {
	var total float64
next:
	for k, v := range s {
		if k != name && !strings.HasPrefix(k, name+"{") {
			continue
		}
		for _, l := range labels {
			if !strings.Contains(k, l) {
				continue next
			}
		}
		total += v
	}
	return total
}

// TestMetricsFromARealServer scrapes --metrics-addr of a real server after
// a failed login, a practice start (a real sandbox) and a Check, and finds
// each in its series; /metrics is not on the public port.
func TestMetricsFromARealServer(t *testing.T) {
	t.Parallel()
	maddr := freeAddr(t)
	srv := startServer(t, "testdata/challenges", "--metrics-addr", maddr)
	murl := "http://" + maddr + "/metrics"
	before := scrapeMetrics(t, murl)
	if before.sum("opsdojo_accounts_login_failures_total") != 0 || before.sum("opsdojo_sandbox_start_duration_seconds_count") != 0 {
		t.Fatalf("counters not zero at start")
	}

	resp, err := http.Get(srv.URL + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusNotFound {
		t.Errorf("public port answers /metrics with %d, want 404", resp.StatusCode)
	}

	cl := newClient(t, srv.URL)
	form := "email=admin%40opsdojo.local&password=wrong+password"
	if code, _ := cl.do("POST", "/api/v1/login", strings.NewReader(form), "application/x-www-form-urlencoded"); code != http.StatusUnauthorized {
		t.Fatalf("wrong password: %d, want 401", code)
	}
	cl.login("admin@opsdojo.local", "admin password 1")
	var started struct {
		Attempt struct{ ID string } `json:"attempt"`
	}
	if code := cl.json("POST", "/api/v1/challenges/edit-config/attempts", nil, &started); code != http.StatusCreated {
		t.Fatalf("start: %d", code)
	}
	if code := cl.json("POST", "/api/v1/attempts/"+started.Attempt.ID+"/check", nil, nil); code >= 300 {
		t.Fatalf("check: %d", code)
	}

	// Grading is asynchronous: wait (bounded) for its duration to land.
	var after series
	for i := 0; i < 120; i++ {
		after = scrapeMetrics(t, murl)
		if after.sum("opsdojo_grading_duration_seconds_count") >= 1 {
			break
		}
		time.Sleep(500 * time.Millisecond)
	}
	for _, c := range []struct {
		name   string
		labels []string
		want   float64
	}{
		{"opsdojo_accounts_login_failures_total", []string{`reason="invalid"`}, 1},
		{"opsdojo_http_requests_total", []string{`route="/api/v1/login"`, `code="401"`}, 1},
		{"opsdojo_http_requests_total", []string{`route="/api/v1/login"`, `code="200"`}, 1},
		{"opsdojo_http_requests_total", []string{`route="/api/v1/challenges/:id/attempts"`, `code="201"`}, 1},
		{"opsdojo_http_request_duration_seconds_count", []string{`route="/api/v1/attempts/:id/check"`}, 1},
		{"opsdojo_sandbox_start_duration_seconds_count", []string{`challenge="edit-config"`}, 1},
		{"opsdojo_sandboxes_running", []string{`challenge="edit-config"`}, 1},
		{"opsdojo_grading_duration_seconds_count", nil, 1},
		{"opsdojo_metrics_source_up", []string{`source="grading_jobs"`}, 1},
	} {
		if got := after.sum(c.name, c.labels...); got != c.want {
			t.Errorf("%s%v = %v, want %v", c.name, c.labels, got, c.want)
		}
	}
	if after.sum("opsdojo_grading_jobs", `state="done"`)+after.sum("opsdojo_grading_jobs", `state="failed"`) < 1 {
		t.Errorf("no finished grading job in opsdojo_grading_jobs: %v", after.sum("opsdojo_grading_jobs"))
	}
	for k := range after {
		if strings.Contains(k, started.Attempt.ID) {
			t.Errorf("an attempt ID leaked into a label: %s", k)
		}
	}
}
