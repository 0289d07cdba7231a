package server

import (
	"github.com/gofiber/fiber/v2"

	"github.com/opsdojo/opsdojo/pipeline"
)

// maxLintBytes caps the content a live-lint request may send.
const maxLintBytes = 256 << 10

// registerLint: live lint of editor buffers (workflow files for now),
// for any signed-in user; nothing is stored or run.
func (s *Server) registerLint() {
	s.app.Post("/api/v1/lint/workflow", s.requireRole(), s.handleLintWorkflow)
}

// handleLintWorkflow lints a GitHub Actions workflow with actionlint and
// the offline runner's rules; problems come back at line:col.
func (s *Server) handleLintWorkflow(c *fiber.Ctx) error {
	body, err := readInput(c)
	if err != nil {
		return fiber.NewError(fiber.StatusBadRequest, "body must be JSON or a form with path and content: "+err.Error())
	}
	in := struct{ Path, Content string }{body.Get("path"), body.Get("content")}
	if len(in.Content) > maxLintBytes {
		return fiber.NewError(fiber.StatusRequestEntityTooLarge, "workflow larger than 256 KiB")
	}
	if in.Path == "" {
		in.Path = "workflow.yml"
	}
	probs := pipeline.Lint(in.Path, []byte(in.Content))
	lines := make([]string, 0, len(probs))
	for _, p := range probs {
		lines = append(lines, p.String())
	}
	if probs == nil {
		probs = []pipeline.Problem{}
	}
	return c.JSON(fiber.Map{"problems": probs, "lines": lines})
}
