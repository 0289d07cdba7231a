#!/bin/bash
# The process listening on the API's port must be python3 (the packaged
# interpreter, verified by content) running /opt/orders/app.py as the
# orders user, a child of the supervisor (bash running
# /usr/local/sbin/supervise-orders).
set -u
python3 - <<'PY'
import json, os, subprocess, sys
port = int(os.environ["ORDERS_PORT"])
want = None
for l in subprocess.run(["sbx-cat", "/etc/passwd"], capture_output=True, text=True).stdout.splitlines():
    f = l.split(":")
    if len(f) > 2 and f[0] == "orders":
        want = int(f[2])
if want in (None, 0):
    print("the orders user is missing or has uid 0"); sys.exit(1)
procs = {p["pid"]: p for p in json.loads(subprocess.run(["sbx-procs", "--json"], capture_output=True, check=True).stdout)}
held = [p for p in procs.values() if any(l["proto"] == "tcp" and l["port"] == port for l in p["listen"])]
if not held:
    print("nothing listens on the API's port"); sys.exit(1)
for p in held:
    pid, exe = p["pid"], p["exe"]
    if "python3" not in os.path.basename(exe) or not p["verified"] or "/opt/orders/app.py" not in p["cmdline"]:
        print(f"the API's port is held by {exe} (pid {pid}), not by the orders API"); sys.exit(1)
    if p["uid"] != want:
        print(f"the orders API (pid {pid}) runs as uid {p['uid']}, not as orders"); sys.exit(1)
    parent = procs.get(p["ppid"])
    if not parent or os.path.basename(parent["exe"]) != "bash" or not parent["verified"] \
            or "/usr/local/sbin/supervise-orders" not in parent["cmdline"]:
        print(f"the orders API (pid {pid}) was not started by its supervisor: nothing will restart it"); sys.exit(1)
print("the orders API runs as orders under its supervisor")
PY
