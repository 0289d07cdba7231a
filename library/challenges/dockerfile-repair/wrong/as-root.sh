#!/bin/bash
# Wrong: "fixes" the permission error by running as root.
set -euo pipefail
cat > /workspace/notes/Dockerfile <<'EOT'
FROM python:3.11-slim
ENV PYTHONUNBUFFERED=1
WORKDIR /app
COPY src/ /app/
EXPOSE 8000
ENTRYPOINT ["python3", "main.py"]
EOT
