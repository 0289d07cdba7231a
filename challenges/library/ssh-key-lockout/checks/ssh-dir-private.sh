#!/bin/bash
# Policy: ~deploy/.ssh is 0700 and authorized_keys 0600, both owned by deploy.
set -u
uid=""
while IFS=: read -r name _ u _; do [ "$name" = deploy ] && uid=$u; done < <(sbx-cat /etc/passwd)
[ -n "$uid" ] || { echo "the deploy user is missing"; exit 1; }
sbx-stat /home/deploy >/dev/null || { echo "/home/deploy is missing"; exit 1; }
for spec in "/home/deploy/.ssh 700" "/home/deploy/.ssh/authorized_keys 600"; do
  read -r path want <<<"$spec"
  st=$(sbx-stat --nofollow "$path") || { echo "$path is missing or a symlink"; exit 1; }
  [[ "$st" == type=lnk* ]] && { echo "$path is missing or a symlink"; exit 1; }
  [[ "$st" =~ mode=0*([0-7]+)\ uid=([0-9]+) ]]
  mode=${BASH_REMATCH[1]} owner=${BASH_REMATCH[2]}
  if [ "$owner" != "$uid" ]; then echo "$path is owned by uid $owner, not deploy"; exit 1; fi
  if [ "$mode" != "$want" ]; then echo "$path has mode $mode, want $want"; exit 1; fi
done
echo "deploy's .ssh and authorized_keys are private to deploy"
