#!/bin/bash
# statvfs of the sandbox's /var/tmp (through /proc/1/root: the sandbox's own
# mount, not the grader's).
set -u
read -r used total < <(python3 -c '
import os, sys
st = os.statvfs(sys.argv[1])
print((st.f_blocks - st.f_bfree) * st.f_frsize, st.f_blocks * st.f_frsize)' "$SANDBOX_ROOT/var/tmp")
pct=$(( used * 100 / total ))
if (( pct < 50 )); then echo "/var/tmp is ${pct}% full"; exit 0; fi
echo "/var/tmp is still ${pct}% full"
exit 1
