#!/bin/bash
# Policy: ~deploy/.ssh is 0700 and authorized_keys 0600, both owned by deploy.
set -u
uid=""
while IFS=: read -r name _ u _; do [ "$name" = deploy ] && uid=$u; done < "$SANDBOX_ROOT/etc/passwd"
[ -n "$uid" ] || { echo "the deploy user is missing"; exit 1; }
home=$(sbx-path /home/deploy) || { echo "/home/deploy is missing"; exit 1; }
for spec in "/home/deploy/.ssh 700" "/home/deploy/.ssh/authorized_keys 600"; do
  read -r path want <<<"$spec"
  p="$home/${path#/home/deploy/}"
  if [ -L "$p" ] || [ ! -e "$p" ]; then echo "$path is missing or a symlink"; exit 1; fi
  read -r mode owner < <(stat -c '%a %u' "$p")
  if [ "$owner" != "$uid" ]; then echo "$path is owned by uid $owner, not deploy"; exit 1; fi
  if [ "$mode" != "$want" ]; then echo "$path has mode $mode, want $want"; exit 1; fi
done
echo "deploy's .ssh and authorized_keys are private to deploy"
