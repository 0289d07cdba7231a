#!/bin/bash
# statvfs of the sandbox's /var/tmp (its own tmpfs, opened inside the
# sandbox's root by sbx-stat: never the grader's file system).
set -u
st=$(sbx-stat /var/tmp) || { echo "/var/tmp is missing"; exit 1; }
[[ "$st" =~ fs_used=([0-9]+)\ fs_total=([0-9]+) ]] || { echo "cannot measure /var/tmp"; exit 1; }
used=${BASH_REMATCH[1]} total=${BASH_REMATCH[2]}
(( total > 0 )) || { echo "cannot measure /var/tmp"; exit 1; }
pct=$(( used * 100 / total ))
if (( pct < 50 )); then echo "/var/tmp is ${pct}% full"; exit 0; fi
echo "/var/tmp is still ${pct}% full"
exit 1
