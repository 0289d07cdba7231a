#!/bin/bash
cat > /workspace/Dockerfile <<'DF'
FROM python:3.11-slim
WORKDIR /app
COPY app.py .
USER nobody
EXPOSE 8000
CMD ["python3", "app.py"]
DF
