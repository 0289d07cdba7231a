package server_test

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/opsdojo/opsdojo/server"
	"github.com/opsdojo/opsdojo/store/storetest"
)

func newServer(t *testing.T, docker server.Pinger) *server.Server {
	t.Helper()
	st := storetest.Open(t, "sqlite")
	srv, err := server.New(server.Config{PublicURL: "http://127.0.0.1"}, server.Deps{Database: st, Docker: docker})
	if err != nil {
		t.Fatal(err)
	}
	return srv
}

func get(t *testing.T, srv *server.Server, path string) (int, string) {
	t.Helper()
	req, _ := http.NewRequest(http.MethodGet, path, nil)
	resp, err := srv.App().Test(req, 5000)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

func TestHealthAndReadiness(t *testing.T) {
	t.Parallel()
	up := server.PingFunc(func(context.Context) error { return nil })
	down := server.PingFunc(func(context.Context) error {
		return errors.New("docker daemon at unix:///var/run/docker.sock unreachable: connection refused")
	})
	hang := server.PingFunc(func(ctx context.Context) error { <-ctx.Done(); return ctx.Err() })
	cases := []struct {
		name       string
		docker     server.Pinger
		wantStatus int
		wantDocker bool
		wantErr    string
	}{
		{"all up", up, 200, true, ""},
		{"docker down", down, 503, false, "connection refused"},
		{"docker hangs", hang, 503, false, "deadline exceeded"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			srv := newServer(t, tc.docker)
			if code, _ := get(t, srv, "/healthz"); code != 200 {
				t.Fatalf("/healthz = %d", code)
			}
			code, body := get(t, srv, "/readyz")
			if code != tc.wantStatus {
				t.Fatalf("/readyz = %d, want %d: %s", code, tc.wantStatus, body)
			}
			var r struct {
				Status string
				Checks map[string]struct {
					OK    bool
					Error string
				}
			}
			if err := json.Unmarshal([]byte(body), &r); err != nil {
				t.Fatal(err)
			}
			if !r.Checks["database"].OK {
				t.Fatalf("database not ok: %s", body)
			}
			if r.Checks["docker"].OK != tc.wantDocker || !strings.Contains(r.Checks["docker"].Error, tc.wantErr) {
				t.Fatalf("docker check = %+v, want ok=%v error~%q", r.Checks["docker"], tc.wantDocker, tc.wantErr)
			}
			// Pages still render, with the banner when Docker is down.
			code, page := get(t, srv, "/")
			if code != 200 {
				t.Fatalf("/ = %d", code)
			}
			if hasBanner := strings.Contains(page, `id="docker-banner"`); hasBanner == tc.wantDocker {
				t.Fatalf("docker banner shown=%v with docker ok=%v", hasBanner, tc.wantDocker)
			}
		})
	}
}

func TestUnknownRouteIsCleanJSONForAPI(t *testing.T) {
	t.Parallel()
	srv := newServer(t, server.PingFunc(func(context.Context) error { return nil }))
	code, body := get(t, srv, "/api/v1/does-not-exist")
	if code != 404 || !strings.Contains(body, `"error"`) {
		t.Fatalf("got %d %s", code, body)
	}
}

// slowCloser is a long-lived connection that records its close reason.
type slowCloser struct{ reason chan string }

func (s *slowCloser) CloseWithReason(r string) { s.reason <- r }

func TestGracefulShutdownFinishesInFlightAndClosesWebsockets(t *testing.T) {
	t.Parallel()
	st := storetest.Open(t, "sqlite")
	srv, err := server.New(server.Config{ShutdownTimeout: 5 * time.Second}, server.Deps{Database: st, Docker: server.PingFunc(func(context.Context) error { return nil })})
	if err != nil {
		t.Fatal(err)
	}
	release := make(chan struct{})
	srv.App().Get("/slow", func(c server.FiberCtx) error {
		<-release
		return c.SendString("finished")
	})
	ws := &slowCloser{reason: make(chan string, 1)}
	srv.Hijacked().Add(ws, "some-user")
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	served := make(chan error, 1)
	go func() { served <- srv.Serve(ctx, ln) }()

	got := make(chan string, 1)
	go func() {
		resp, err := http.Get("http://" + ln.Addr().String() + "/slow")
		if err != nil {
			got <- "error: " + err.Error()
			return
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		got <- string(b)
	}()
	time.Sleep(200 * time.Millisecond) // let the request reach the handler
	cancel()                           // SIGTERM
	select {
	case r := <-ws.reason:
		if r != "server shutting down" {
			t.Fatalf("websocket close reason %q", r)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("websocket not closed on shutdown")
	}
	close(release)
	if body := <-got; body != "finished" {
		t.Fatalf("in-flight request got %q", body)
	}
	select {
	case err := <-served:
		if err != nil {
			t.Fatalf("serve: %v", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("Serve did not return after shutdown")
	}
	if _, err := net.DialTimeout("tcp", ln.Addr().String(), time.Second); err == nil {
		t.Fatal("still accepting connections after shutdown")
	}
}
