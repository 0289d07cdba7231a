#!/bin/bash
# Wrong: everything but the baked-in token is fixed.
set -euo pipefail
cat > /workspace/Dockerfile <<'EOF'
FROM python:3.11-slim
ENV API_TOKEN=changeme
WORKDIR /app
COPY app.py .
RUN useradd --system --uid 10001 --no-create-home app
USER app
EXPOSE 8000
HEALTHCHECK CMD ["python", "-c", "import urllib.request; urllib.request.urlopen('http://127.0.0.1:8000/healthz', timeout=2)"]
CMD ["python", "app.py"]
EOF
