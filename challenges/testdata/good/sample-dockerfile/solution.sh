#!/bin/bash
# Reference solution: pinned slim base, non-root user, health check,
# no baked token, exec-form CMD.
set -euo pipefail
cat > /workspace/Dockerfile <<'EOF'
FROM python:3.11-slim
WORKDIR /app
COPY app.py .
RUN useradd --system --uid 10001 --no-create-home app
USER app
EXPOSE 8000
HEALTHCHECK --interval=10s --timeout=3s --retries=3 \
  CMD ["python", "-c", "import urllib.request; urllib.request.urlopen('http://127.0.0.1:8000/healthz', timeout=2)"]
CMD ["python", "app.py"]
EOF
