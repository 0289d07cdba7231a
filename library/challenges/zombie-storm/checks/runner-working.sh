#!/bin/bash
set -u
alive=$(sbx-procs --json | python3 -c 'import json, os, sys
print(int(any("python3" in os.path.basename(p["exe"]) and p["state"] != "Z" and "/opt/jobrunner/runner.py" in p["cmdline"] for p in json.load(sys.stdin))))')
if [ "$alive" != 1 ]; then echo "the job runner is not running"; exit 1; fi
sbx-stat /var/lib/jobrunner/heartbeat >/dev/null || { echo "no heartbeat file"; exit 1; }
for _ in 1 2 3 4 5 6; do
  st=$(sbx-stat /var/lib/jobrunner/heartbeat) || { echo "no heartbeat file"; exit 1; }
  [[ "$st" =~ mtime=([0-9]+) ]]
  age=$(( $(date +%s) - BASH_REMATCH[1] ))
  if (( age <= 4 )); then echo "the job runner is running; heartbeat ${age}s old"; exit 0; fi
  sleep 0.5
done
echo "the job runner's heartbeat is ${age}s old: it is stuck"
exit 1
