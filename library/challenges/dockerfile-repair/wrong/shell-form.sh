#!/bin/bash
# Wrong: serves, but through /bin/sh -c: SIGTERM never reaches the API.
set -euo pipefail
cat > /workspace/notes/Dockerfile <<'EOT'
FROM python:3.11-slim
ENV PYTHONUNBUFFERED=1
WORKDIR /app
COPY src/ /app/
RUN useradd --system --uid 10001 --no-create-home notes && install -d -o notes /var/lib/notes
USER notes
EXPOSE 8000
ENTRYPOINT python3 main.py
EOT
