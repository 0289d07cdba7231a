// Package server is opsdojo's HTTP side: the Fiber app, its middleware and
// thin handlers that parse a request, make one call into a domain package
// and render the answer. Dependencies arrive through New; nothing here reads
// flags or the environment.
package server

import (
	"context"
	"errors"
	"fmt"
	"html/template"
	"log/slog"
	"net"
	"net/netip"
	"sync"
	"time"

	"github.com/gofiber/fiber/v2"
	"github.com/gofiber/fiber/v2/middleware/filesystem"

	"github.com/opsdojo/opsdojo/ui"
)

// Pinger is anything whose liveness /readyz reports (the database, dockerd).
type Pinger interface {
	Ping(ctx context.Context) error
}

// PingFunc adapts a function to Pinger.
type PingFunc func(ctx context.Context) error

// Ping calls f.
func (f PingFunc) Ping(ctx context.Context) error { return f(ctx) }

// Config is the server's own settings (main fills it from flags).
type Config struct {
	// PublicURL is where browsers reach the server; websocket origins are
	// checked against it.
	PublicURL string
	// ShutdownTimeout bounds graceful shutdown: in-flight requests get this
	// long to finish, then connections are closed.
	ShutdownTimeout time.Duration
	// ReadyTimeout bounds each dependency check of /readyz.
	ReadyTimeout time.Duration
	// BodyLimit caps request bodies (uploads).
	BodyLimit int
	// AllowSignup lets anyone create a candidate account.
	AllowSignup bool
	// TrustedProxies are the reverse proxies whose X-Forwarded-For is
	// believed (right-most untrusted hop); empty: the header is ignored.
	TrustedProxies []netip.Prefix
}

// Deps are the server's collaborators.
type Deps struct {
	Log      *slog.Logger
	Database Pinger
	Docker   Pinger
	Terminal TerminalDeps
	Accounts Accounts
	// Tokens, when set, enables personal access tokens (tokens.go).
	Tokens   APITokens
	Catalog  Catalog
	Attempts Attempts
	Review   ReviewDeps

	Authoring Authoring
	Published Published

	// Observe, when set, runs first on every request (package metrics'
	// HTTP middleware: requests and latency by route pattern).
	Observe fiber.Handler
}

// Server is the HTTP application.
type Server struct {
	cfg    Config
	deps   Deps
	log    *slog.Logger
	app    *fiber.App
	pages  map[string]*template.Template
	health *healthCache
	hijack *hijackedConns
	// proxies resolves the real client address (clientip.go).
	proxies clientIPs
}

// New builds the app and its routes.
func New(cfg Config, deps Deps) (*Server, error) {
	if deps.Log == nil {
		deps.Log = slog.New(slog.DiscardHandler)
	}
	if cfg.ShutdownTimeout <= 0 {
		cfg.ShutdownTimeout = 15 * time.Second
	}
	if cfg.ReadyTimeout <= 0 {
		cfg.ReadyTimeout = 2 * time.Second
	}
	if cfg.BodyLimit <= 0 {
		cfg.BodyLimit = 8 << 20
	}
	pages, err := ui.Pages(template.FuncMap{
		"deref": func(b *bool) bool { return b != nil && *b },
		"derefs": func(p *string) string {
			if p == nil {
				return ""
			}
			return *p
		},
	})
	if err != nil {
		return nil, fmt.Errorf("load templates: %w", err)
	}
	s := &Server{
		cfg:    cfg,
		deps:   deps,
		log:    deps.Log.With("component", "http"),
		pages:  pages,
		hijack: newHijackedConns(),
	}
	s.proxies = clientIPs{trusted: cfg.TrustedProxies}
	s.health = newHealthCache(deps, cfg.ReadyTimeout)
	s.defaultTerminalAuthz()
	s.app = fiber.New(fiber.Config{
		AppName:               "opsdojo",
		DisableStartupMessage: true,
		BodyLimit:             cfg.BodyLimit,
		ReadTimeout:           30 * time.Second,
		WriteTimeout:          60 * time.Second,
		IdleTimeout:           120 * time.Second,
		ErrorHandler:          s.errorHandler,
		// Values from the request (params, headers, form fields) are
		// copied, so code that keeps one past the handler (a ticket grant,
		// a background job, a log) never sees fasthttp reuse its buffer.
		Immutable: true,
	})
	s.routes()
	return s, nil
}

// App exposes the Fiber app (tests use app.Test).
func (s *Server) App() *fiber.App { return s.app }

// Hijacked returns the registry long-lived connections (websockets) join so
// shutdown can close them with a reason.
func (s *Server) Hijacked() *hijackedConns { return s.hijack }

func (s *Server) routes() {
	if s.deps.Observe != nil {
		s.app.Use(s.deps.Observe)
	}
	s.app.Use(s.clientAddress, s.requestLog)
	s.app.Get("/healthz", s.handleHealthz)
	s.app.Get("/readyz", s.handleReadyz)
	s.app.Use("/static", filesystem.New(filesystem.Config{Root: httpFS(ui.Assets()), MaxAge: 3600}))
	s.app.Use("/assets", filesystem.New(filesystem.Config{Root: httpFS(ui.Static()), MaxAge: 300}))
	s.app.Use(s.securityHeaders, s.authenticate, s.scopeSessions, s.csrfProtect) // scopeSessions: invite_scope.go
	s.app.Get("/", s.handleHome)
	s.app.Get("/login", s.handleLoginPage)
	s.app.Post("/login", s.handleLogin)
	s.app.Get("/register", s.handleRegisterPage)
	s.app.Post("/register", s.handleRegister)
	s.app.Post("/logout", s.handleLogout)
	api := s.app.Group("/api/v1")
	api.Get("/openapi.yaml", s.handleOpenAPI) // public: describes the API, no data (openapi.go)
	api.Get("/csrf", s.handleCSRF)
	api.Post("/login", s.handleLogin)
	api.Post("/register", s.handleRegister)
	api.Post("/logout", s.requireRole(), s.handleLogout)
	api.Get("/me", s.requireRole(), s.handleMe)
	s.registerAccount()
	s.registerTokens()
	s.registerPractice()
	s.registerAssignments()
	s.registerAuthoring()
	s.registerTerminal()
	s.registerLint()
}

// Serve serves on ln until ctx ends, then shuts down gracefully: stop
// accepting, close websockets with a reason, let in-flight requests finish,
// all within ShutdownTimeout.
func (s *Server) Serve(ctx context.Context, ln net.Listener) error {
	errc := make(chan error, 1)
	go func() { errc <- s.app.Listener(ln) }()
	select {
	case err := <-errc:
		return fmt.Errorf("serve: %w", err)
	case <-ctx.Done():
	}
	s.log.Info("shutting down", "timeout", s.cfg.ShutdownTimeout)
	sctx, cancel := context.WithTimeout(context.Background(), s.cfg.ShutdownTimeout)
	defer cancel()
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		s.hijack.CloseAll("server shutting down")
	}()
	err := s.app.ShutdownWithContext(sctx)
	wg.Wait()
	if err != nil && !errors.Is(err, context.DeadlineExceeded) {
		return fmt.Errorf("shutdown: %w", err)
	}
	if errors.Is(sctx.Err(), context.DeadlineExceeded) {
		s.log.Warn("shutdown timed out; remaining connections were closed", "timeout", s.cfg.ShutdownTimeout)
	}
	return nil
}
