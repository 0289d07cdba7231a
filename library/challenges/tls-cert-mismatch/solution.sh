#!/bin/bash
# Reference solution: install the renewed key with its certificate (full
# chain), private, test, reload.
set -euo pipefail
install -m 0600 -o root -g root /etc/nginx/tls/renewed/shop.internal.key /etc/nginx/tls/shop.internal.key
install -m 0644 /etc/nginx/tls/renewed/shop.internal.fullchain.crt /etc/nginx/tls/shop.internal.crt
chmod 0600 /etc/nginx/tls/renewed/shop.internal.key
nginx -t
nginx -s reload
sleep 0.5
