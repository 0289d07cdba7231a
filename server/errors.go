package server

import (
	"errors"
	"strings"
	"time"

	"github.com/gofiber/fiber/v2"

	"github.com/opsdojo/opsdojo/apperr"
)

// apiError is the JSON error body: a short error and a detail that says
// what to do.
type apiError struct {
	Error  string `json:"error"`
	Detail string `json:"detail,omitempty"`
}

// statusOf is the one table from application error codes to HTTP
// statuses. Every handler's errors go through it (the error handler, and
// httpStatus for pages that show the error in a form).
var statusOf = map[apperr.Code]int{
	apperr.Internal:        fiber.StatusInternalServerError,
	apperr.Invalid:         fiber.StatusBadRequest,
	apperr.Unprocessable:   fiber.StatusUnprocessableEntity,
	apperr.Unauthorized:    fiber.StatusUnauthorized,
	apperr.Forbidden:       fiber.StatusForbidden,
	apperr.NotFound:        fiber.StatusNotFound,
	apperr.Conflict:        fiber.StatusConflict,
	apperr.Gone:            fiber.StatusGone,
	apperr.TooLarge:        fiber.StatusRequestEntityTooLarge,
	apperr.TooManyRequests: fiber.StatusTooManyRequests,
	apperr.Unavailable:     fiber.StatusServiceUnavailable,
	apperr.Timeout:         fiber.StatusGatewayTimeout,
}

// httpStatus returns the status of err and the message a user may read:
// a *fiber.Error (request parsing in handlers) keeps its own; a coded
// error's status comes from statusOf and its message from
// apperr.ErrorMessage; anything else is 500 "internal error" (its detail
// is logged by the error handler, never shown).
func httpStatus(err error) (int, string) {
	var fe *fiber.Error
	if errors.As(err, &fe) {
		return fe.Code, fe.Message
	}
	status, ok := statusOf[apperr.ErrorCode(err)]
	if !ok || status == fiber.StatusInternalServerError {
		return fiber.StatusInternalServerError, apperr.InternalMessage
	}
	return status, apperr.ErrorMessage(err)
}

// errorHandler answers every error a handler returns, in one place.
func (s *Server) errorHandler(c *fiber.Ctx, err error) error {
	code, msg := httpStatus(err)
	detail := ""
	if code == fiber.StatusRequestEntityTooLarge {
		detail = "the request body is larger than the server accepts"
	}
	if code >= 500 {
		args := []any{"method", c.Method(), "path", c.Path(), "status", code, "err", err}
		if cause := apperr.Cause(err); cause != "" {
			args = append(args, "cause", cause)
		}
		s.log.Error("request failed", args...)
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
