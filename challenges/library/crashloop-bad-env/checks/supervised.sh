#!/bin/bash
# The process listening on the API's port must be python3 running
# /opt/orders/app.py as the orders user, a child of the supervisor (bash
# running /usr/local/sbin/supervise-orders).
set -u
want=""
while IFS=: read -r name _ uid _; do [ "$name" = orders ] && want=$uid; done < "$SANDBOX_ROOT/etc/passwd"
if [ -z "$want" ] || [ "$want" = 0 ]; then echo "the orders user is missing or has uid 0"; exit 1; fi
pids=$(ss -Hltnp 2>/dev/null | while read -r line; do
  [[ "$line" =~ :${ORDERS_PORT}[[:space:]] ]] || continue
  grep -oE 'pid=[0-9]+' <<<"$line" | cut -d= -f2
done | sort -u)
if [ -z "$pids" ]; then echo "nothing listens on the API's port"; exit 1; fi
for p in $pids; do
  exe=$(readlink "/proc/$p/exe" 2>/dev/null)
  if [[ "$exe" != */python3* ]] || ! tr '\0' '\n' < "/proc/$p/cmdline" 2>/dev/null | grep -qx /opt/orders/app.py; then
    echo "the API's port is held by $exe (pid $p), not by the orders API"; exit 1
  fi
  uid=$(awk '/^Uid:/ {print $3}' "/proc/$p/status")
  ppid=$(awk '/^PPid:/ {print $2}' "/proc/$p/status")
  if [ "$uid" != "$want" ]; then echo "the orders API (pid $p) runs as uid $uid, not as orders"; exit 1; fi
  pexe=$(readlink "/proc/$ppid/exe" 2>/dev/null)
  if [[ "$pexe" != */bash ]] || ! tr '\0' '\n' < "/proc/$ppid/cmdline" 2>/dev/null | grep -qx /usr/local/sbin/supervise-orders; then
    echo "the orders API (pid $p) was not started by its supervisor: nothing will restart it"; exit 1
  fi
done
echo "the orders API runs as orders under its supervisor"
