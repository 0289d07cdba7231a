#!/bin/bash
# Count zombies, wait 5 s (two or three probe runs), count again. A runner that
# reaps its children leaves the count flat; a stopped runner fails too.
set -u
count() {
  sbx-procs --json | python3 -c 'import json, sys; print(sum(p["state"] == "Z" for p in json.load(sys.stdin)))'
}
runner_alive() {
  sbx-procs --json | python3 -c 'import json, os, sys
sys.exit(0 if any("python3" in os.path.basename(p["exe"]) and "/opt/jobrunner/runner.py" in p["cmdline"] for p in json.load(sys.stdin)) else 1)'
}
runner_alive || { echo "the job runner is not running, so nothing can be concluded"; exit 1; }
a=$(count); sleep 5; b=$(count)
if (( b > a + 1 )); then echo "zombies keep appearing: $a, then $b five seconds later"; exit 1; fi
echo "no new zombies ($a, then $b)"
