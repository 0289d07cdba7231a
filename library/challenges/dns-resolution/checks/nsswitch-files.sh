#!/bin/bash
# The hosts: line of nsswitch.conf must list the files source.
set -u
f=$(sbx-path /etc/nsswitch.conf) || { echo "/etc/nsswitch.conf is missing (glibc then uses its defaults); restore it with a hosts: line"; exit 1; }
line=""
while IFS= read -r l; do
  l=${l%%#*}
  [[ "$l" =~ ^[[:space:]]*hosts: ]] && line=${l#*:}
done < "$f"
if [ -z "$line" ]; then echo "nsswitch.conf has no hosts: line"; exit 1; fi
for src in $line; do
  if [ "$src" = files ]; then echo "hosts: lookups read /etc/hosts ($(echo $line))"; exit 0; fi
done
echo "the hosts: line of nsswitch.conf ($(echo $line)) never reads /etc/hosts"
exit 1
