#!/bin/bash
set -u
pids=$(ss -Hltnp 2>/dev/null | while read -r line; do
  [[ "$line" =~ :8443[[:space:]] ]] && grep -oE 'pid=[0-9]+' <<<"$line" | cut -d= -f2
done | sort -u)
if [ -z "$pids" ]; then echo "nothing listens on port 8443"; exit 1; fi
for p in $pids; do
  exe=$(readlink "/proc/$p/exe" 2>/dev/null)
  if [ "${exe% (deleted)}" != /usr/sbin/nginx ]; then echo "port 8443 is held by $exe, not nginx"; exit 1; fi
done
code=$(curl -sk -o /tmp/body -w '%{http_code}' --max-time 3 --resolve shop.internal:8443:127.0.0.1 https://shop.internal:8443/) || true
if [ "$code" != 200 ]; then echo "https://shop.internal:8443/ answered ${code:-nothing}"; exit 1; fi
body=$(head -c 2000 /tmp/body)
if [[ "$body" != *"$SHOP_WORD"* ]]; then echo "nginx answers, but not with the shop's page"; exit 1; fi
echo "nginx serves the shop over TLS"
