package server

import (
	_ "embed"

	"github.com/gofiber/fiber/v2"
)

// openAPIDocument is the OpenAPI 3 description of /api/v1.
// TestOpenAPIDocumentMatchesRoutes fails when it and the routes disagree.
//
//go:embed openapi.yaml
var openAPIDocument []byte

// handleOpenAPI serves the document to anyone: it describes the API, not
// any data, and is the same text as the source; clients generate code from
// it before they have an account or a token.
func (s *Server) handleOpenAPI(c *fiber.Ctx) error {
	c.Set(fiber.HeaderContentType, "application/yaml; charset=utf-8")
	c.Set(fiber.HeaderCacheControl, "public, max-age=300")
	return c.Send(openAPIDocument)
}
