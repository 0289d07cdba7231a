#!/bin/bash
# Every process holding the :8080 listening socket must really be nginx
# (its /proc/PID/exe, which a candidate cannot fake with exec -a).
set -u
pids=()
while read -r line; do
  [[ "$line" =~ :8080[[:space:]] ]] || continue
  while [[ "$line" =~ pid=([0-9]+) ]]; do pids+=("${BASH_REMATCH[1]}"); line=${line/pid=${BASH_REMATCH[1]}/}; done
done < <(ss -Hltnp 2>/dev/null)
if [ ${#pids[@]} -eq 0 ]; then echo "nothing listens on port 8080"; exit 1; fi
for p in "${pids[@]}"; do
  exe=$(readlink "/proc/$p/exe" 2>/dev/null) || continue
  exe=${exe% (deleted)}
  if [[ "$exe" != /usr/sbin/nginx ]]; then echo "port 8080 is held by $exe (pid $p), not nginx"; exit 1; fi
done
echo "nginx listens on port 8080"
