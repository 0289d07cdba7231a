#!/bin/bash
# The volume is its own filesystem of the declared size: judge its usage.
eval "$(sbx-stat /var/log/app | tr ' ' '\n' | grep -E '^fs_(used|total)=')"
if [ "${fs_total:-0}" -ne $((8 << 20)) ]; then
	echo "/var/log/app is ${fs_total:-?} bytes, not the 8 MiB volume"
	exit 1
fi
echo "/var/log/app: $fs_used of $fs_total bytes used"
[ "$fs_used" -lt $((fs_total / 2)) ]
