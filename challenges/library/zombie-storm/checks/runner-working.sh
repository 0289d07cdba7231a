#!/bin/bash
set -u
alive=0
for d in /proc/[0-9]*; do
  [ "$d/root" -ef / ] 2>/dev/null && continue
  exe=$(readlink "$d/exe" 2>/dev/null) || continue
  [[ "$exe" == */python3* ]] || continue
  st=$(awk '/^State:/ {print $2}' "$d/status" 2>/dev/null)
  [ "$st" = Z ] && continue
  tr '\0' '\n' < "$d/cmdline" 2>/dev/null | grep -qx /opt/jobrunner/runner.py && alive=1
done
if [ $alive != 1 ]; then echo "the job runner is not running"; exit 1; fi
hb=$(sbx-path /var/lib/jobrunner/heartbeat) || { echo "no heartbeat file"; exit 1; }
for _ in 1 2 3 4 5 6; do
  age=$(( $(date +%s) - $(stat -c %Y "$hb") ))
  if (( age <= 4 )); then echo "the job runner is running; heartbeat ${age}s old"; exit 0; fi
  sleep 0.5
done
echo "the job runner's heartbeat is ${age}s old: it is stuck"
exit 1
