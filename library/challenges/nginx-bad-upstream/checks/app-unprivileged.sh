#!/bin/bash
# Whatever listens on the catalog's port must be python3 running as the
# catalog user (uid looked up in the sandbox's passwd, never 0).
set -u
want=""
while IFS=: read -r name _ uid _; do [ "$name" = catalog ] && want=$uid; done < <(sbx-cat /etc/passwd)
if [ -z "$want" ] || [ "$want" = 0 ]; then echo "the catalog user is missing or has uid 0"; exit 1; fi
out=$(sbx-port "$CATALOG_PORT") || { echo "nothing listens on the catalog's port"; exit 1; }
while read -r _ uid _; do
  uid=${uid#uid=}
  if [ "$uid" != "$want" ]; then echo "the catalog's port is served by uid ${uid:-?}, not by the catalog user"; exit 1; fi
done <<<"$out"
echo "the catalog service runs as catalog"
