#!/bin/bash
# The service must answer on the port the seed gave it (CATALOG_PORT), the one
# other systems call directly, and that port must still be in catalog.env.
set -u
code=$(curl -s -o /tmp/body -w '%{http_code}' --max-time 2 "http://127.0.0.1:${CATALOG_PORT}/") || true
if [ "$code" != 200 ]; then echo "the catalog service does not answer on its port from catalog.env (got HTTP ${code:-000})"; exit 1; fi
body=$(head -c 4096 /tmp/body)
if [[ "$body" != *'"service": "catalog"'* ]]; then echo "something answers on the catalog's port, but it is not the catalog service"; exit 1; fi
f=$(sbx-path /etc/catalog/catalog.env) || { echo "/etc/catalog/catalog.env is missing"; exit 1; }
ok=0
while IFS= read -r l; do [[ "$l" == "CATALOG_PORT=${CATALOG_PORT}" ]] && ok=1; done < "$f"
if [ $ok != 1 ]; then echo "the port in /etc/catalog/catalog.env was changed"; exit 1; fi
echo "the catalog service answers on its documented port"
