#!/bin/bash
# Wrong: works, non-root, health check — but ships the whole Go toolchain
# (~900 MB) and is not multi-stage.
set -euo pipefail
cat > /workspace/inventory/Dockerfile <<'EOT'
FROM golang:1.26-bookworm
WORKDIR /src
COPY . .
RUN go build -o /usr/local/bin/inventory . && useradd --uid 10001 app
USER app
EXPOSE 8080
HEALTHCHECK CMD ["inventory", "healthcheck"]
ENTRYPOINT ["inventory"]
EOT
