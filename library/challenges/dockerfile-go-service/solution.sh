#!/bin/bash
# Reference solution: static build, scratch final stage, numeric non-root
# user, the binary's own health check.
set -euo pipefail
cat > /workspace/inventory/Dockerfile <<'EOT'
FROM golang:1.26-bookworm AS build
WORKDIR /src
COPY go.mod ./
COPY *.go ./
RUN CGO_ENABLED=0 go build -trimpath -ldflags="-s -w" -o /out/inventory .

FROM scratch
COPY --from=build /out/inventory /inventory
USER 65532:65532
EXPOSE 8080
HEALTHCHECK --interval=10s --timeout=3s --retries=3 CMD ["/inventory", "healthcheck"]
ENTRYPOINT ["/inventory"]
EOT
