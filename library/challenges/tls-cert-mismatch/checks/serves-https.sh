#!/bin/bash
set -u
# Every process holding :8443 must be the packaged nginx (sbx-port hashes
# the running executable and compares it with the image's dpkg md5sums).
out=$(sbx-port 8443) || { echo "nothing listens on port 8443"; exit 1; }
while read -r _ _ verified pkg path; do
  path=${path#path=}
  if [ "$path" != /usr/sbin/nginx ] || [ "$verified" != verified=yes ] || [[ "$pkg" != pkg=nginx* ]]; then
    echo "port 8443 is held by $path, not nginx"; exit 1
  fi
done <<<"$out"
code=$(curl -sk -o /tmp/body -w '%{http_code}' --max-time 3 --resolve shop.internal:8443:127.0.0.1 https://shop.internal:8443/) || true
if [ "$code" != 200 ]; then echo "https://shop.internal:8443/ answered ${code:-nothing}"; exit 1; fi
body=$(head -c 2000 /tmp/body)
if [[ "$body" != *"$SHOP_WORD"* ]]; then echo "nginx answers, but not with the shop's page"; exit 1; fi
echo "nginx serves the shop over TLS"
