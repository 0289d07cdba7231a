#!/bin/bash
# Wrong: small and healthy, but runs as root.
set -euo pipefail
cat > /workspace/inventory/Dockerfile <<'EOT'
FROM golang:1.26-bookworm AS build
WORKDIR /src
COPY . .
RUN CGO_ENABLED=0 go build -o /out/inventory .

FROM scratch
COPY --from=build /out/inventory /inventory
HEALTHCHECK CMD ["/inventory", "healthcheck"]
ENTRYPOINT ["/inventory"]
EOT
