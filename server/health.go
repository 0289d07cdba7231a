package server

import (
	"context"
	"sync"
	"time"

	"github.com/gofiber/fiber/v2"
)

// checkState is one dependency's state as /readyz reports it.
type checkState struct {
	OK    bool   `json:"ok"`
	Error string `json:"error,omitempty"`
}

type readiness struct {
	Status string                `json:"status"`
	Checks map[string]checkState `json:"checks"`
}

// healthCache runs the readiness checks at most once per second, so
// /readyz polling and page banners never pile up calls on a slow daemon.
type healthCache struct {
	deps    Deps
	timeout time.Duration
	mu      sync.Mutex
	at      time.Time
	last    readiness
}

const healthCacheTTL = time.Second

func newHealthCache(deps Deps, timeout time.Duration) *healthCache {
	return &healthCache{deps: deps, timeout: timeout}
}

func (h *healthCache) get(ctx context.Context) readiness {
	h.mu.Lock()
	defer h.mu.Unlock()
	if !h.at.IsZero() && time.Since(h.at) < healthCacheTTL {
		return h.last
	}
	r := readiness{Status: "ok", Checks: map[string]checkState{}}
	var wg sync.WaitGroup
	var mu sync.Mutex
	for name, p := range map[string]Pinger{"database": h.deps.Database, "docker": h.deps.Docker} {
		wg.Add(1)
		go func() {
			defer wg.Done()
			st := checkState{OK: true}
			if p == nil {
				st = checkState{Error: "not configured"}
			} else {
				cctx, cancel := context.WithTimeout(ctx, h.timeout)
				err := p.Ping(cctx)
				cancel()
				if err != nil {
					st = checkState{Error: err.Error()}
				}
			}
			mu.Lock()
			r.Checks[name] = st
			if !st.OK {
				r.Status = "unavailable"
			}
			mu.Unlock()
		}()
	}
	wg.Wait()
	h.at, h.last = time.Now(), r
	return r
}

func (s *Server) handleHealthz(c *fiber.Ctx) error {
	return c.JSON(fiber.Map{"status": "ok"})
}

func (s *Server) handleReadyz(c *fiber.Ctx) error {
	r := s.health.get(c.UserContext())
	if r.Status != "ok" {
		c.Status(fiber.StatusServiceUnavailable)
	}
	return c.JSON(r)
}
