#!/bin/bash
# Wrong: tiny and starts, but the templates and stylesheet stayed behind:
# /healthz answers 500.
set -euo pipefail
cat > /workspace/linkshort/Dockerfile <<'EOT'
FROM golang:1.26-bookworm AS build
WORKDIR /src
COPY . .
RUN CGO_ENABLED=0 go build -o /out/linkshort .

FROM scratch
COPY --from=build /out/linkshort /linkshort
HEALTHCHECK CMD ["/linkshort", "healthcheck"]
ENTRYPOINT ["/linkshort"]
EOT
