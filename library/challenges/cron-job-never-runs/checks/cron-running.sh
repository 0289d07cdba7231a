#!/bin/bash
# The packaged cron daemon (its running executable verified against the
# image's dpkg md5sums) runs as root and is not a zombie.
set -u
python3 - <<'PY'
import json, subprocess, sys
for p in json.loads(subprocess.run(["sbx-procs", "--json"], capture_output=True, check=True).stdout):
    if p["exe"] == "/usr/sbin/cron" and p["verified"] and p["state"] != "Z" and p["uid"] == 0:
        print(f"cron is running (pid {p['pid']})"); sys.exit(0)
print("the cron daemon is not running"); sys.exit(1)
PY
