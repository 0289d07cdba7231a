#!/bin/bash
# Every file and directory under /srv/shop (not following symlinks) must be
# owned by the sandbox's deploy user.
set -u
want=""
while IFS=: read -r name _ uid _; do [ "$name" = deploy ] && want=$uid; done < <(sbx-cat /etc/passwd)
if [ -z "$want" ] || [ "$want" = 0 ]; then echo "the deploy user is missing or has uid 0"; exit 1; fi
root=$(sbx-path /srv/shop) || { echo "/srv/shop is missing"; exit 1; }
bad=$(find "$root" ! -uid "$want" -printf '%P (uid %U)\n' 2>/dev/null | head -3)
if [ -n "$bad" ]; then echo "not owned by deploy: ${bad//$'\n'/, }" | sed 's/^not owned by deploy:  (/not owned by deploy: \/srv\/shop itself (/'; exit 1; fi
echo "everything under /srv/shop belongs to deploy"
