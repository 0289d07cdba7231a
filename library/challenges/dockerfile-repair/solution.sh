#!/bin/bash
set -euo pipefail
cat > /workspace/notes/Dockerfile <<'EOT'
FROM python:3.11-slim

ENV PYTHONUNBUFFERED=1
WORKDIR /app
COPY src/ /app/

RUN useradd --system --uid 10001 --no-create-home notes \
 && install -d -o notes -g notes -m 0750 /var/lib/notes
USER notes

EXPOSE 8000
ENTRYPOINT ["python3", "main.py"]
EOT
