package metrics_test

import (
	"context"
	"errors"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/gofiber/fiber/v2"

	"github.com/opsdojo/opsdojo/metrics"
	"github.com/opsdojo/opsdojo/sandbox"
	"github.com/opsdojo/opsdojo/terminal"
)

// scrape returns the text exposition of m as /metrics serves it.
func scrape(t *testing.T, m *metrics.Metrics) string {
	t.Helper()
	rec := httptest.NewRecorder()
	m.Handler().ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/metrics", nil))
	if rec.Code != http.StatusOK {
		t.Fatalf("/metrics answered %d", rec.Code)
	}
	return rec.Body.String()
}

func hasLine(t *testing.T, body, line string) {
	t.Helper()
	for _, l := range strings.Split(body, "\n") {
		if l == line {
			return
		}
	}
	t.Errorf("/metrics has no line %q", line)
}

// TestHTTPMiddlewareLabelsRoutePatterns: requests are counted by the route
// pattern, so a thousand attempt IDs make one series, and paths no route
// matches share the "unmatched" label.
func TestHTTPMiddlewareLabelsRoutePatterns(t *testing.T) {
	m := metrics.New(nil)
	errGone := errors.New("gone")
	app := fiber.New(fiber.Config{DisableStartupMessage: true, ErrorHandler: func(c *fiber.Ctx, err error) error {
		if errors.Is(err, errGone) { // a domain error the app maps to a status
			return c.SendStatus(fiber.StatusGone)
		}
		return fiber.DefaultErrorHandler(c, err)
	}})
	app.Use(m.HTTPMiddleware())
	app.Use(func(c *fiber.Ctx) error { return c.Next() }) // another middleware, like the server's
	app.Get("/gone/:id", func(c *fiber.Ctx) error { return errGone })
	app.Get("/attempts/:id", func(c *fiber.Ctx) error { return c.SendString(c.Params("id")) })
	app.Post("/login", func(c *fiber.Ctx) error { return fiber.NewError(fiber.StatusUnauthorized, "no") })
	app.Use("/static", func(c *fiber.Ctx) error { return c.SendString("js") })
	api := app.Group("/api/v1")
	api.Get("/me", func(c *fiber.Ctx) error { return c.SendStatus(fiber.StatusNoContent) })
	for _, r := range []struct{ method, path string }{
		{"GET", "/attempts/1"}, {"GET", "/attempts/2"}, {"GET", "/attempts/3"},
		{"POST", "/login"}, {"GET", "/api/v1/me"},
		{"GET", "/wp-admin/setup.php"}, {"GET", "/.env"}, {"GET", "/static/app.js"}, {"GET", "/gone/7"},
	} {
		resp, err := app.Test(httptest.NewRequest(r.method, r.path, nil), -1)
		if err != nil {
			t.Fatal(err)
		}
		_, _ = io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
	}
	body := scrape(t, m)
	hasLine(t, body, `opsdojo_http_requests_total{code="200",method="GET",route="/attempts/:id"} 3`)
	hasLine(t, body, `opsdojo_http_requests_total{code="401",method="POST",route="/login"} 1`)
	hasLine(t, body, `opsdojo_http_requests_total{code="204",method="GET",route="/api/v1/me"} 1`)
	hasLine(t, body, `opsdojo_http_requests_total{code="404",method="GET",route="unmatched"} 2`)
	hasLine(t, body, `opsdojo_http_requests_total{code="200",method="GET",route="/static/*"} 1`)
	hasLine(t, body, `opsdojo_http_requests_total{code="410",method="GET",route="/gone/:id"} 1`)
	hasLine(t, body, `opsdojo_http_request_duration_seconds_count{method="GET",route="/attempts/:id"} 3`)
	if t.Failed() {
		t.Log(body)
	}
	if strings.Contains(body, "wp-admin") || strings.Contains(body, `route="/attempts/1"`) {
		t.Error("a raw path became a label value")
	}
}

type fakeSandboxes struct{ c sandbox.Counts }

func (f fakeSandboxes) Counts() sandbox.Counts { return f.c }

type fakeHub struct{ s terminal.Stats }

func (f fakeHub) Stats() terminal.Stats { return f.s }

type fakeRec struct{ ev, b int64 }

func (f fakeRec) Dropped() (int64, int64) { return f.ev, f.b }

type fakeJobs struct{ err error }

func (f fakeJobs) GradingJobCounts(context.Context) (map[string]int64, error) {
	return map[string]int64{"queued": 4, "done": 10}, f.err
}

// TestObserversAndCollectors: each observer method moves its series and
// the collectors report what their sources count at scrape time.
func TestObserversAndCollectors(t *testing.T) {
	m := metrics.New(nil)
	m.WatchSandboxes(fakeSandboxes{sandbox.Counts{Running: map[string]int{"dns": 2, "": 1}, Pooled: map[string]int{"opsdojo/shell:latest": 3}, Starting: 1}})
	m.WatchTerminals(fakeHub{terminal.Stats{Sessions: 5, Attached: 3}})
	m.WatchRecordings(fakeRec{7, 700})
	m.WatchGradingQueue(fakeJobs{})
	m.SandboxStarted("dns", 1500*time.Millisecond, false)
	m.SandboxStarted("dns", 200*time.Millisecond, true)
	m.SandboxStartFailed("dns", true)
	m.GradingDone(3*time.Second, "graded")
	m.WebhookTried("assignment.submitted", "retry")
	m.WebhookTried("assignment.submitted", "sent")
	m.LoginFailed("invalid")
	m.TerminalBytes("out", 100)
	m.TerminalBytes("in", 3)
	body := scrape(t, m)
	for _, l := range []string{
		`opsdojo_sandboxes_running{challenge="dns"} 2`,
		`opsdojo_sandboxes_running{challenge="none"} 1`,
		`opsdojo_sandboxes_pooled{image="opsdojo/shell:latest"} 3`,
		`opsdojo_sandboxes_starting 1`,
		`opsdojo_sandbox_start_duration_seconds_count{challenge="dns",source="fresh"} 1`,
		`opsdojo_sandbox_start_duration_seconds_bucket{challenge="dns",source="pool",le="0.25"} 1`,
		`opsdojo_sandbox_start_failures_total{challenge="dns",reason="capacity"} 1`,
		`opsdojo_grading_duration_seconds_count{outcome="graded"} 1`,
		`opsdojo_grading_jobs{state="queued"} 4`,
		`opsdojo_grading_jobs{state="running"} 0`,
		`opsdojo_metrics_source_up{source="grading_jobs"} 1`,
		`opsdojo_terminals_open{state="attached"} 3`,
		`opsdojo_terminals_open{state="detached"} 2`,
		`opsdojo_terminal_bytes_total{direction="out"} 100`,
		`opsdojo_terminal_bytes_total{direction="in"} 3`,
		`opsdojo_recording_dropped_events_total 7`,
		`opsdojo_recording_dropped_bytes_total 700`,
		`opsdojo_webhooks_deliveries_total{event="assignment.submitted",outcome="retry"} 1`,
		`opsdojo_webhooks_deliveries_total{event="assignment.submitted",outcome="sent"} 1`,
		`opsdojo_accounts_login_failures_total{reason="invalid"} 1`,
		`opsdojo_accounts_login_failures_total{reason="rate_limited"} 0`,
	} {
		hasLine(t, body, l)
	}
	if mfs, err := m.Registry().Gather(); err != nil || len(mfs) == 0 {
		t.Errorf("registry does not gather cleanly: %d families, %v", len(mfs), err)
	}
}

// TestServeOnlyMetrics: the metrics listener answers /metrics and nothing
// else, and stops with its context.
func TestServeOnlyMetrics(t *testing.T) {
	m := metrics.New(nil)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- m.Serve(ctx, ln) }()
	base := "http://" + ln.Addr().String()
	for path, want := range map[string]int{"/metrics": 200, "/": 404, "/login": 404} {
		resp, err := http.Get(base + path)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != want {
			t.Errorf("GET %s = %d, want %d", path, resp.StatusCode, want)
		}
	}
	cancel()
	select {
	case err := <-done:
		if err != nil {
			t.Errorf("Serve after cancel: %v", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("Serve did not stop with its context")
	}
}
