#!/bin/bash
set -euo pipefail
cat > /workspace/linkshort/Dockerfile <<'EOT'
FROM golang:1.26-bookworm AS build
WORKDIR /src
COPY go.mod main.go ./
RUN CGO_ENABLED=0 go build -trimpath -ldflags="-s -w" -o /out/linkshort .

FROM scratch
WORKDIR /app
COPY --from=build /out/linkshort /app/linkshort
COPY templates/ /app/templates/
COPY static/ /app/static/
USER 65532:65532
EXPOSE 8080
HEALTHCHECK --interval=15s CMD ["/app/linkshort", "healthcheck"]
ENTRYPOINT ["/app/linkshort"]
EOT
