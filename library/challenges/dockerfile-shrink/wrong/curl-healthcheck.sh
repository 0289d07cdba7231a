#!/bin/bash
# Wrong: small and serving, but the health check still calls curl through
# /bin/sh — neither exists in scratch, so the container is always unhealthy.
set -euo pipefail
cat > /workspace/linkshort/Dockerfile <<'EOT'
FROM golang:1.26-bookworm AS build
WORKDIR /src
COPY . .
RUN CGO_ENABLED=0 go build -o /out/linkshort .

FROM scratch
WORKDIR /app
COPY --from=build /out/linkshort /app/linkshort
COPY templates/ /app/templates/
COPY static/ /app/static/
HEALTHCHECK --interval=15s CMD curl -fs http://localhost:8080/healthz || exit 1
ENTRYPOINT ["/app/linkshort"]
EOT
