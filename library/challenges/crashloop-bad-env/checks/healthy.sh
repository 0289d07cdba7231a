#!/bin/bash
# (A script, not an http check: the loader refuses ${VAR} in an http URL's port.)
set -u
code=$(curl -s -o /tmp/body -w '%{http_code}' --max-time 2 "http://127.0.0.1:${ORDERS_PORT}/healthz") || true
if [ "$code" != 200 ]; then echo "no 200 from /healthz on the configured port (got HTTP ${code:-000})"; exit 1; fi
body=$(head -c 200 /tmp/body)
if [[ "$body" != *"database ok"* ]]; then echo "/healthz answered 200 but not with the orders API's answer"; exit 1; fi
echo "the orders API is healthy"
