// Package metrics is opsdojo's Prometheus instrumentation. It owns one
// registry (never the global default one, so tests and several servers in
// one process do not collide) and implements the small observer interfaces
// the domain packages declare (sandbox.Observer, attempts.GradingObserver,
// assignments.WebhookObserver, accounts.LoginObserver); gauges that the
// domain already counts (sandboxes running and pooled, terminals open,
// recording drops, queued grading jobs) are read at scrape time by
// collectors. The domain packages never import Prometheus.
//
// Who may read /metrics: the handler is served on its own listener
// (serve --metrics-addr, off by default), never on the public web port, so
// an operator exposes it only where Prometheus runs (loopback or a private
// network). See docs/OPERATIONS.md for the list of series.
package metrics

import (
	"context"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/gofiber/fiber/v2"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"
)

// Namespace prefixes every opsdojo series.
const Namespace = "opsdojo"

// Buckets of the latency histograms.
var (
	// HTTPBuckets: page and API requests (seconds).
	HTTPBuckets = []float64{0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10}
	// SandboxStartBuckets: a warm-pool hand-out takes well under a
	// second, a fresh container with setup several seconds.
	SandboxStartBuckets = []float64{0.1, 0.25, 0.5, 1, 2, 3, 5, 7.5, 10, 15, 20, 30, 60}
	// GradingBuckets: one Check, every check of a challenge.
	GradingBuckets = []float64{0.25, 0.5, 1, 2, 3, 5, 7.5, 10, 15, 20, 30, 60, 120}
)

// Metrics holds opsdojo's series and the registry they live in.
type Metrics struct {
	reg *prometheus.Registry
	log *slog.Logger

	httpRequests *prometheus.CounterVec
	httpDuration *prometheus.HistogramVec
	httpCache    sync.Map // httpKey -> *httpChildren

	sandboxStart  *prometheus.HistogramVec
	sandboxFailed *prometheus.CounterVec

	gradingDuration *prometheus.HistogramVec

	terminalBytes *prometheus.CounterVec

	webhooks     *prometheus.CounterVec
	loginsFailed *prometheus.CounterVec
}

// New returns Metrics with a fresh registry holding opsdojo's series plus
// the Go runtime and process collectors.
func New(log *slog.Logger) *Metrics {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	m := &Metrics{reg: prometheus.NewRegistry(), log: log.With("component", "metrics")}
	m.httpRequests = prometheus.NewCounterVec(prometheus.CounterOpts{
		Namespace: Namespace, Subsystem: "http", Name: "requests_total",
		Help: "HTTP requests served, by route pattern (not the raw path), method and status code.",
	}, []string{"route", "method", "code"})
	m.httpDuration = prometheus.NewHistogramVec(prometheus.HistogramOpts{
		Namespace: Namespace, Subsystem: "http", Name: "request_duration_seconds",
		Help: "Time to answer an HTTP request, by route pattern and method (a websocket counts until its upgrade).", Buckets: HTTPBuckets,
	}, []string{"route", "method"})
	m.sandboxStart = prometheus.NewHistogramVec(prometheus.HistogramOpts{
		Namespace: Namespace, Subsystem: "sandbox", Name: "start_duration_seconds",
		Help: "Time from asking for a sandbox to it being ready (setup done), by challenge and source (pool or fresh).", Buckets: SandboxStartBuckets,
	}, []string{"challenge", "source"})
	m.sandboxFailed = prometheus.NewCounterVec(prometheus.CounterOpts{
		Namespace: Namespace, Subsystem: "sandbox", Name: "start_failures_total",
		Help: "Sandboxes that could not be started, by challenge and reason (capacity: a cap was reached; error: Docker or setup failed).",
	}, []string{"challenge", "reason"})
	m.gradingDuration = prometheus.NewHistogramVec(prometheus.HistogramOpts{
		Namespace: Namespace, Subsystem: "grading", Name: "duration_seconds",
		Help: "Time one grading job took, by outcome (graded, failed).", Buckets: GradingBuckets,
	}, []string{"outcome"})
	m.terminalBytes = prometheus.NewCounterVec(prometheus.CounterOpts{
		Namespace: Namespace, Subsystem: "terminal", Name: "bytes_total",
		Help: "Bytes through browser terminals: direction out (shell to browser) or in (keystrokes and pastes).",
	}, []string{"direction"})
	m.webhooks = prometheus.NewCounterVec(prometheus.CounterOpts{
		Namespace: Namespace, Subsystem: "webhooks", Name: "deliveries_total",
		Help: "Webhook delivery tries, by event and outcome (sent, retry: failed and will be tried again, failed: given up).",
	}, []string{"event", "outcome"})
	m.loginsFailed = prometheus.NewCounterVec(prometheus.CounterOpts{
		Namespace: Namespace, Subsystem: "accounts", Name: "login_failures_total",
		Help: "Refused logins, by reason (invalid: wrong email or password, rate_limited, busy: no password-hashing slot).",
	}, []string{"reason"})
	m.reg.MustRegister(m.httpRequests, m.httpDuration, m.sandboxStart, m.sandboxFailed,
		m.gradingDuration, m.terminalBytes, m.webhooks, m.loginsFailed,
		collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	for _, d := range []string{"in", "out"} {
		m.terminalBytes.WithLabelValues(d)
	}
	for _, r := range []string{"invalid", "rate_limited", "busy"} {
		m.loginsFailed.WithLabelValues(r)
	}
	return m
}

// Registry is where every series lives (tests gather from it).
func (m *Metrics) Registry() *prometheus.Registry { return m.reg }

// Handler serves the registry in the Prometheus text (or OpenMetrics)
// format.
func (m *Metrics) Handler() http.Handler {
	return promhttp.HandlerFor(m.reg, promhttp.HandlerOpts{Registry: m.reg, ErrorLog: slogPrinter{m.log}})
}

type slogPrinter struct{ log *slog.Logger }

func (p slogPrinter) Println(v ...any) { p.log.Warn("serve /metrics", "err", v) }

// routeUnmatched labels requests no route matched (404s of unknown
// paths), so scanners do not mint one series per path they try.
const routeUnmatched = "unmatched"

// HTTPMiddleware counts and times every request by the pattern of the route
// that answered it (/attempts/:id, not /attempts/123): the label set is
// bounded by the routes in the code. Install it first.
func (m *Metrics) HTTPMiddleware() fiber.Handler {
	return func(c *fiber.Ctx) error {
		start := time.Now()
		if err := c.Next(); err != nil {
			// Let the app's error handler write the answer now (as
			// Fiber's logger does), so the status counted is the one sent.
			if herr := c.App().Config().ErrorHandler(c, err); herr != nil {
				_ = c.SendStatus(fiber.StatusInternalServerError)
			}
		}
		k := httpKey{route: routeLabel(c.Route(), c.Path()), method: methodLabel(c.Method()), code: c.Response().StatusCode()}
		m.httpSeries(k).observe(time.Since(start))
		return nil
	}
}

// httpKey names the series of one kind of request.
type httpKey struct {
	route, method string
	code          int
}

// httpChildren are the series of one httpKey, resolved once: looking them
// up by label values hashes the labels on every request.
type httpChildren struct {
	requests prometheus.Counter
	duration prometheus.Observer
}

func (h *httpChildren) observe(d time.Duration) {
	h.requests.Inc()
	h.duration.Observe(d.Seconds())
}

func (m *Metrics) httpSeries(k httpKey) *httpChildren {
	if v, ok := m.httpCache.Load(k); ok {
		return v.(*httpChildren)
	}
	h := &httpChildren{
		requests: m.httpRequests.WithLabelValues(k.route, k.method, strconv.Itoa(k.code)),
		duration: m.httpDuration.WithLabelValues(k.route, k.method),
	}
	v, _ := m.httpCache.LoadOrStore(k, h)
	return v.(*httpChildren)
}

// methodLabel maps the request method onto a fixed set (label values must
// not be the request's own bytes, which fasthttp reuses, nor unbounded).
func methodLabel(m string) string {
	switch m {
	case "GET":
		return "GET"
	case "HEAD":
		return "HEAD"
	case "POST":
		return "POST"
	case "PUT":
		return "PUT"
	case "PATCH":
		return "PATCH"
	case "DELETE":
		return "DELETE"
	case "OPTIONS":
		return "OPTIONS"
	}
	return "OTHER"
}

// routeLabel is the pattern of the route that answered a request for path.
// A request that ended in a prefix middleware (app.Use: static files, or
// the catch-all ones when no route matched) gets "<prefix>/*", and
// "unmatched" for the root prefix.
func routeLabel(r *fiber.Route, path string) string {
	if r == nil || r.Path == "" {
		return routeUnmatched
	}
	if strings.ContainsAny(r.Path, ":*+") {
		return r.Path // a parameterized route: the pattern
	}
	if strings.EqualFold(strings.TrimRight(path, "/"), strings.TrimRight(r.Path, "/")) {
		return r.Path // a fixed route
	}
	if r.Path == "/" {
		return routeUnmatched
	}
	return strings.TrimRight(r.Path, "/") + "/*"
}

// Serve serves /metrics (and nothing else) on ln until ctx ends.
func (m *Metrics) Serve(ctx context.Context, ln net.Listener) error {
	mux := http.NewServeMux()
	mux.Handle("GET /metrics", m.Handler())
	hs := &http.Server{Handler: mux, ReadHeaderTimeout: 10 * time.Second, WriteTimeout: 30 * time.Second}
	errc := make(chan error, 1)
	go func() { errc <- hs.Serve(ln) }()
	select {
	case err := <-errc:
		return fmt.Errorf("serve metrics on %s: %w", ln.Addr(), err)
	case <-ctx.Done():
	}
	sctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
	defer cancel()
	_ = hs.Shutdown(sctx)
	return nil
}
