#!/bin/bash
# Builds and serves, but as root and with a shell-form CMD.
cat > /workspace/Dockerfile <<'DF'
FROM python:3.11-slim
COPY app.py /app.py
CMD python3 /app.py
DF
