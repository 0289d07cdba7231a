package server

import (
	"bytes"
	"fmt"
	"io/fs"
	"net/http"
	"net/url"
	"strings"

	"github.com/gofiber/fiber/v2"

	"github.com/opsdojo/opsdojo/accounts"
	"github.com/opsdojo/opsdojo/ui"
)

// pageData is what every page template gets: its own data and the state
// the layout shows (Docker down banner, missing front-end bundle).
type pageData struct {
	Title       string
	DockerOK    bool
	DockerError string
	AssetsBuilt bool
	CSRF        string
	User        *accounts.User
	// Scoped is true for a session opened by an invite link: it reaches
	// only its take-home, so the layout shows no other navigation.
	Scoped bool
	Data   any
}

func (s *Server) render(c *fiber.Ctx, page, title string, data any) error {
	t, ok := s.pages[page]
	if !ok {
		return fmt.Errorf("render: no page template %q", page)
	}
	r := s.health.get(c.UserContext())
	d := r.Checks["docker"]
	pd := pageData{Title: title, DockerOK: d.OK, DockerError: d.Error, AssetsBuilt: ui.AssetsBuilt(), CSRF: s.csrfToken(c), Data: data}
	if sess := sessionFrom(c); sess != nil {
		pd.User = sess.User
		pd.Scoped = sess.InviteID != ""
	}
	var buf bytes.Buffer
	if err := t.ExecuteTemplate(&buf, "layout", pd); err != nil {
		return fmt.Errorf("render %s: %w", page, err)
	}
	c.Set(fiber.HeaderContentType, fiber.MIMETextHTMLCharsetUTF8)
	return c.Send(buf.Bytes())
}

func (s *Server) handleHome(c *fiber.Ctx) error {
	return s.render(c, "home", "Home", nil)
}

func httpFS(f fs.FS) http.FileSystem { return http.FS(f) }

// securityHeaders sets the headers every answer carries: a strict
// Content-Security-Policy (see contentSecurityPolicy) and, when browsers
// reach us over https, Strict-Transport-Security.
func (s *Server) securityHeaders(c *fiber.Ctx) error {
	c.Set("X-Content-Type-Options", "nosniff")
	c.Set("X-Frame-Options", "DENY")
	c.Set("Referrer-Policy", "same-origin")
	c.Set("Content-Security-Policy", contentSecurityPolicy(s.cfg.PublicURL))
	if strings.HasPrefix(s.cfg.PublicURL, "https://") {
		// Only over https: on plain http the header is ignored, and sent
		// from a host later moved to http it would lock browsers out.
		c.Set("Strict-Transport-Security", "max-age=31536000; includeSubDomains")
	}
	return c.Next()
}

// contentSecurityPolicy is the policy of every page. Scripts come only from
// our own origin (the esbuild bundle and ui/static): no inline <script>, no
// on* attributes, no eval — ui/templates are tested for it
// (TestTemplatesHaveNoInlineScript), so an HTML injection cannot run code.
// 'wasm-unsafe-eval' lets our own bundle compile WebAssembly (the
// asciinema-player terminal emulator is a wasm module inside app.js); it
// allows neither eval of JavaScript strings nor inline script. Websockets
// may reach only the public host (CSP3 browsers count ws/wss of the same
// host as 'self'; older ones need it spelled out).
//
// Styles allow 'unsafe-inline' on purpose: xterm.js adds <style> elements
// and style attributes at run time (its renderer sizes cells that way), so
// a strict style-src breaks the terminal. What inline CSS could still do is
// bounded by the rest of the policy: img-src, font-src (default-src) and
// connect-src are 'self', so an injected style cannot load from or leak to
// another origin; it can only restyle our own page.
func contentSecurityPolicy(publicURL string) string {
	connect := "'self'"
	if u, err := url.Parse(publicURL); err == nil && u.Host != "" {
		switch u.Scheme {
		case "https":
			connect += " wss://" + u.Host
		case "http":
			connect += " ws://" + u.Host
		}
	}
	return "default-src 'self'; script-src 'self' 'wasm-unsafe-eval'; style-src 'self' 'unsafe-inline'; img-src 'self' data:; " +
		"connect-src " + connect + "; frame-ancestors 'none'; base-uri 'none'; form-action 'self'; object-src 'none'"
}
