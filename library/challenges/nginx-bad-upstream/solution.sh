#!/bin/bash
# Reference solution: start the service, point nginx's upstream at the port
# from catalog.env, test and reload nginx.
set -euo pipefail
catalogctl start
. /etc/catalog/catalog.env
sed -i -E "s/server 127\.0\.0\.1:[0-9]+;/server 127.0.0.1:${CATALOG_PORT};/" /etc/nginx/conf.d/catalog.conf
nginx -t
nginx -s reload
for _ in $(seq 30); do
  [ "$(curl -s -o /dev/null -w '%{http_code}' http://127.0.0.1:8080/)" = 200 ] && exit 0
  sleep 0.2
done
exit 1
