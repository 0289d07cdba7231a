#!/bin/bash
# Every /etc/hosts line naming db.internal must give a loopback address, and
# there must be at least one (the first match is what files returns).
set -u
f=$(sbx-path /etc/hosts) || { echo "/etc/hosts is missing"; exit 1; }
found=""
while read -r addr names; do
  [[ -z "$addr" || "$addr" == \#* ]] && continue
  names=${names%%#*}
  for n in $names; do
    if [ "$n" = db.internal ]; then
      if [[ -z "$found" ]]; then found=$addr; fi
    fi
  done
done < "$f"
if [ -z "$found" ]; then echo "/etc/hosts has no entry for db.internal"; exit 1; fi
if [[ "$found" =~ ^127\.[0-9]+\.[0-9]+\.[0-9]+$ || "$found" == ::1 ]]; then echo "db.internal -> $found in /etc/hosts"; exit 0; fi
echo "/etc/hosts maps db.internal to $found, which is not this host"
exit 1
