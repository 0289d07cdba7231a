#!/bin/bash
# Wrong: a fresh self-signed certificate makes nginx happy, but no client
# trusts it.
set -e
cd /etc/nginx/tls
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout shop.internal.key -out shop.internal.crt -days 365 -subj /CN=shop.internal -addext subjectAltName=DNS:shop.internal 2>/dev/null
chmod 0600 shop.internal.key renewed/shop.internal.key
nginx -s reload; sleep 0.5
