#!/bin/bash
set -u
st=$(sbx-stat /var/lib/orders) || { echo "/var/lib/orders is missing"; exit 1; }
if [[ "$st" != type=dir* ]]; then echo "/var/lib/orders is not a directory"; exit 1; fi
want=""
while IFS=: read -r name _ uid _; do [ "$name" = orders ] && want=$uid; done < <(sbx-cat /etc/passwd)
[[ "$st" =~ mode=([0-7]+)\ uid=([0-9]+) ]]
mode=${BASH_REMATCH[1]} uid=${BASH_REMATCH[2]}
mode=${mode#0}
if [ "$uid" != "$want" ]; then echo "/var/lib/orders is owned by uid $uid, not by orders"; exit 1; fi
if (( 8#$mode & 8#002 )); then echo "/var/lib/orders is world-writable (mode $mode)"; exit 1; fi
echo "/var/lib/orders belongs to orders (mode $mode)"
