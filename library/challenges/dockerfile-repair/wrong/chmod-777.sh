#!/bin/bash
# Wrong: works, but the data directory is writable by every user.
set -euo pipefail
cat > /workspace/notes/Dockerfile <<'EOT'
FROM python:3.11-slim
ENV PYTHONUNBUFFERED=1
WORKDIR /app
COPY src/ /app/
RUN useradd --system --uid 10001 --no-create-home notes && mkdir -p /var/lib/notes && chmod 777 /var/lib/notes
USER notes
EXPOSE 8000
ENTRYPOINT ["python3", "main.py"]
EOT
