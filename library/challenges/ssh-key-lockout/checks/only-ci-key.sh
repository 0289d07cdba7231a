#!/bin/bash
# deploy's authorized_keys must hold the CI key and nothing else (a key
# added to test a login must be removed afterwards).
set -u
ci='AAAAC3NzaC1lZDI1NTE5AAAAIFOASnrAeHKshUWe9ZOWlLXDo85v2SUCkP8EwSqkBbsX'
dir=$(sbx-path /home/deploy/.ssh) || { echo "/home/deploy/.ssh is missing"; exit 1; }
f="$dir/authorized_keys"
if [ -L "$f" ] || [ ! -f "$f" ]; then echo "/home/deploy/.ssh/authorized_keys is missing or a symlink"; exit 1; fi
has_ci=0 others=0
while IFS= read -r line; do
  [[ -z "${line// }" || "$line" == \#* ]] && continue
  if [[ "$line" == *" $ci"* || "$line" == "ssh-ed25519 $ci"* ]]; then has_ci=1; else others=$((others + 1)); fi
done < "$f"
if [ $has_ci != 1 ]; then echo "the CI pipeline's key is no longer in authorized_keys"; exit 1; fi
if [ $others -gt 0 ]; then echo "authorized_keys holds $others key(s) besides the CI key"; exit 1; fi
echo "only the CI key is authorised"
