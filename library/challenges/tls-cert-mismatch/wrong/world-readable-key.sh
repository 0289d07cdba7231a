#!/bin/bash
# Wrong: serves the renewed chain, but copies the key with the world-readable
# mode it was delivered with.
set -e
cp /etc/nginx/tls/renewed/shop.internal.key /etc/nginx/tls/shop.internal.key
chmod 0644 /etc/nginx/tls/shop.internal.key
cp /etc/nginx/tls/renewed/shop.internal.fullchain.crt /etc/nginx/tls/shop.internal.crt
nginx -t && nginx -s reload; sleep 0.5
