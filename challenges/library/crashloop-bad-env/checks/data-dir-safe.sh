#!/bin/bash
set -u
d=$(sbx-path /var/lib/orders) || { echo "/var/lib/orders is missing"; exit 1; }
if [ -L "$d" ] || [ ! -d "$d" ]; then echo "/var/lib/orders is not a directory"; exit 1; fi
want=""
while IFS=: read -r name _ uid _; do [ "$name" = orders ] && want=$uid; done < "$SANDBOX_ROOT/etc/passwd"
read -r uid mode < <(stat -c '%u %a' "$d")
if [ "$uid" != "$want" ]; then echo "/var/lib/orders is owned by uid $uid, not by orders"; exit 1; fi
if (( 8#$mode & 8#002 )); then echo "/var/lib/orders is world-writable (mode $mode)"; exit 1; fi
echo "/var/lib/orders belongs to orders (mode $mode)"
