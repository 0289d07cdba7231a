package server

import "github.com/gofiber/fiber/v2"

// fiberCtx lets external tests name *fiber.Ctx without importing fiber twice.
type FiberCtx = *fiber.Ctx

// SafeNext exposes safeNext to tests.
var SafeNext = safeNext
