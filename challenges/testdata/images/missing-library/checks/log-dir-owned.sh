#!/bin/bash
# Runs in the trusted grader container, never in the sandbox: the sandbox's
# filesystem is at $SANDBOX_ROOT. User names are resolved with the sandbox's
# /etc/passwd, not the grader's.
set -u
dir="$SANDBOX_ROOT/var/log/status-api"
if [ -L "$dir" ] || [ ! -d "$dir" ]; then
  echo "/var/log/status-api is not a directory"
  exit 1
fi
want=$(awk -F: '$1 == "statusapi" { print $3 }' "$SANDBOX_ROOT/etc/passwd")
if [ -z "$want" ]; then
  echo "the statusapi user is gone"
  exit 1
fi
read -r uid mode < <(stat -c '%u %a' "$dir")
if [ "$uid" != "$want" ]; then
  echo "/var/log/status-api is owned by uid $uid, not by statusapi"
  exit 1
fi
if (( 8#$mode & 8#002 )); then
  echo "/var/log/status-api is world-writable (mode $mode)"
  exit 1
fi
echo "/var/log/status-api belongs to statusapi (mode $mode)"
