#!/bin/bash
# Wrong: puts the old (expired) certificate back so the config tests clean.
set -e
cd /etc/nginx/tls
openssl s_client -connect 127.0.0.1:8443 -servername shop.internal </dev/null 2>/dev/null | openssl x509 > shop.internal.crt
chmod 0600 renewed/shop.internal.key
nginx -t && nginx -s reload; sleep 0.5
