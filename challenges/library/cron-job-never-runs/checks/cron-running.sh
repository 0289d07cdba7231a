#!/bin/bash
set -u
for d in /proc/[0-9]*; do
  [ "$d/root" -ef / ] 2>/dev/null && continue
  exe=$(readlink "$d/exe" 2>/dev/null) || continue
  st=$(awk '/^State:/ {print $2}' "$d/status" 2>/dev/null)
  uid=$(awk '/^Uid:/ {print $2}' "$d/status" 2>/dev/null)
  if [ "${exe% (deleted)}" = /usr/sbin/cron ] && [ "$st" != Z ] && [ "$uid" = 0 ]; then echo "cron is running (pid ${d#/proc/})"; exit 0; fi
done
echo "the cron daemon is not running"
exit 1
