package server

import "github.com/gofiber/fiber/v2"

// FiberCtx lets the external test package name *fiber.Ctx.
type FiberCtx = *fiber.Ctx

// SafeNext exposes safeNext to tests.
var SafeNext = safeNext
