#!/bin/bash
# Policy: ~deploy/.ssh is 0700 and authorized_keys 0600, both owned by deploy.
set -u
uid=""
while IFS=: read -r name _ u _; do [ "$name" = deploy ] && uid=$u; done < <(sbx-cat /etc/passwd)
[ -n "$uid" ] || { echo "the deploy user is missing"; exit 1; }
paths=(/home/deploy/.ssh /home/deploy/.ssh/authorized_keys) modes=(700 600)
mapfile -t sts < <(sbx-stat --nofollow "${paths[@]}")
for i in 0 1; do
  path=${paths[$i]} want=${modes[$i]} st=${sts[$i]:-}
  if [ -z "$st" ] || [[ "$st" == type=lnk* ]]; then echo "$path is missing or a symlink"; exit 1; fi
  [[ "$st" =~ mode=0*([0-7]+)\ uid=([0-9]+) ]]
  mode=${BASH_REMATCH[1]} owner=${BASH_REMATCH[2]}
  if [ "$owner" != "$uid" ]; then echo "$path is owned by uid $owner, not deploy"; exit 1; fi
  if [ "$mode" != "$want" ]; then echo "$path has mode $mode, want $want"; exit 1; fi
done
echo "deploy's .ssh and authorized_keys are private to deploy"
