#!/bin/bash
# Whatever listens on the catalog's port must be python3 running as the
# catalog user (uid looked up in the sandbox's passwd, never 0).
set -u
want=""
while IFS=: read -r name _ uid _; do [ "$name" = catalog ] && want=$uid; done < "$SANDBOX_ROOT/etc/passwd"
if [ -z "$want" ] || [ "$want" = 0 ]; then echo "the catalog user is missing or has uid 0"; exit 1; fi
pids=()
while read -r line; do
  [[ "$line" =~ :${CATALOG_PORT}[[:space:]] ]] || continue
  while [[ "$line" =~ pid=([0-9]+) ]]; do pids+=("${BASH_REMATCH[1]}"); line=${line/pid=${BASH_REMATCH[1]}/}; done
done < <(ss -Hltnp 2>/dev/null)
if [ ${#pids[@]} -eq 0 ]; then echo "nothing listens on the catalog's port"; exit 1; fi
for p in "${pids[@]}"; do
  uid=$(awk '/^Uid:/ {print $3; exit}' "/proc/$p/status" 2>/dev/null)
  if [ "$uid" != "$want" ]; then echo "the catalog's port is served by uid ${uid:-?}, not by the catalog user"; exit 1; fi
done
echo "the catalog service runs as catalog"
