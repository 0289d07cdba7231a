package metrics_test

import (
	"testing"

	"github.com/gofiber/fiber/v2"
	"github.com/valyala/fasthttp"

	"github.com/opsdojo/opsdojo/metrics"
)

// BenchmarkHTTPMiddleware: the cost the metrics middleware adds to one
// request through Fiber's handler (no network), with and without it.
func BenchmarkHTTPMiddleware(b *testing.B) {
	for _, withMetrics := range []bool{false, true} {
		name := "without"
		if withMetrics {
			name = "with"
		}
		b.Run(name, func(b *testing.B) {
			app := fiber.New(fiber.Config{DisableStartupMessage: true})
			if withMetrics {
				app.Use(metrics.New(nil).HTTPMiddleware())
			}
			app.Get("/api/v1/attempts/:id", func(c *fiber.Ctx) error { return c.SendString("ok") })
			h := app.Handler()
			var ctx fasthttp.RequestCtx
			ctx.Request.Header.SetMethod("GET")
			ctx.Request.SetRequestURI("/api/v1/attempts/0123456789abcdef")
			b.ReportAllocs()
			for b.Loop() {
				ctx.Response.Reset()
				h(&ctx)
			}
		})
	}
}
