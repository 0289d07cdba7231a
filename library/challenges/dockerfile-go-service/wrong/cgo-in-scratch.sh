#!/bin/bash
# Wrong: passes every static rule, but the binary is built with cgo on
# (the golang image's default) and is dynamically linked: it cannot start
# in scratch, which has no libc.
set -euo pipefail
cat > /workspace/inventory/Dockerfile <<'EOT'
FROM golang:1.26-bookworm AS build
WORKDIR /src
COPY . .
RUN go build -o /out/inventory .

FROM scratch
COPY --from=build /out/inventory /inventory
USER 65532:65532
HEALTHCHECK CMD ["/inventory", "healthcheck"]
ENTRYPOINT ["/inventory"]
EOT
