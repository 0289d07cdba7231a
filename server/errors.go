package server

import (
	"errors"
	"strings"
	"time"

	"github.com/gofiber/fiber/v2"
)

// apiError is the JSON error body: a short error and a detail that says
// what to do.
type apiError struct {
	Error  string `json:"error"`
	Detail string `json:"detail,omitempty"`
}

// errorHandler maps errors to HTTP answers in one place. Unknown errors
// become 500 "internal error"; the detail is logged, never shown.
func (s *Server) errorHandler(c *fiber.Ctx, err error) error {
	code := fiber.StatusInternalServerError
	msg, detail := "internal error", ""
	var fe *fiber.Error
	if errors.As(err, &fe) {
		code, msg = fe.Code, fe.Message
		if code == fiber.StatusRequestEntityTooLarge {
			detail = "the request body is larger than the server accepts"
		}
	}
	if code >= 500 {
		s.log.Error("request failed", "method", c.Method(), "path", c.Path(), "err", err)
	}
	if wantsJSON(c) {
		return c.Status(code).JSON(apiError{Error: msg, Detail: detail})
	}
	c.Set(fiber.HeaderContentType, fiber.MIMETextPlainCharsetUTF8)
	text := msg
	if detail != "" {
		text += ": " + detail
	}
	return c.Status(code).SendString(text)
}

func wantsJSON(c *fiber.Ctx) bool {
	return strings.HasPrefix(c.Path(), "/api/") || strings.Contains(c.Get(fiber.HeaderAccept), "application/json")
}

func (s *Server) requestLog(c *fiber.Ctx) error {
	start := time.Now()
	err := c.Next()
	if err != nil {
		if herr := s.app.Config().ErrorHandler(c, err); herr != nil {
			_ = c.SendStatus(fiber.StatusInternalServerError)
		}
	}
	path := c.Path()
	if path == "/healthz" || path == "/readyz" || strings.HasPrefix(path, "/static/") {
		return nil
	}
	s.log.Debug("request", "method", c.Method(), "path", path, "status", c.Response().StatusCode(), "took", time.Since(start))
	return nil
}
