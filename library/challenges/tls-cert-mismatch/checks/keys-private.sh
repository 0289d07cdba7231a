#!/bin/bash
# Files under /etc/nginx/tls holding a private key: no access for others,
# and group access only for group root.
set -u
d=$(sbx-path /etc/nginx/tls) || { echo "/etc/nginx/tls is missing"; exit 1; }
bad=""
while IFS= read -r -d '' f; do
  grep -q 'PRIVATE KEY-----' "$f" 2>/dev/null || continue
  read -r mode gid < <(stat -c '%a %g' "$f")
  if (( 8#$mode & 8#004 )) || { (( 8#$mode & 8#040 )) && [ "$gid" != 0 ]; }; then
    bad+="/etc/nginx/tls/${f#$d/} (mode $mode) "
  fi
done < <(find "$d" -type f -print0)
if [ -n "$bad" ]; then echo "private keys readable by other users: $bad"; exit 1; fi
echo "every private key is readable by root only"
