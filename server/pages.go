package server

import (
	"bytes"
	"fmt"
	"io/fs"
	"net/http"

	"github.com/gofiber/fiber/v2"

	"github.com/opsdojo/opsdojo/store"
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
	User        *store.User
	Data        any
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

// securityHeaders sets the headers every answer carries.
func (s *Server) securityHeaders(c *fiber.Ctx) error {
	c.Set("X-Content-Type-Options", "nosniff")
	c.Set("X-Frame-Options", "DENY")
	c.Set("Referrer-Policy", "same-origin")
	return c.Next()
}
