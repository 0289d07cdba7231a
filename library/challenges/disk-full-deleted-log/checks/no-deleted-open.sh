#!/bin/bash
# No sandbox process may hold an open file that was deleted and still takes
# more than 1 MiB (that space cannot be reclaimed until it is closed).
set -u
python3 - <<'PY'
import json, subprocess, sys
bad = []
for p in json.loads(subprocess.run(["sbx-procs", "--json"], capture_output=True, check=True).stdout):
    for fd in p["fds"]:
        t = fd["target"]
        if t.startswith("/") and t.endswith(" (deleted)") and fd.get("blocks", 0) * 512 > 1 << 20:
            bad.append(f"pid {p['pid']} holds {t} ({fd['blocks'] * 512 >> 20} MiB)")
if bad:
    print("deleted files still held open: " + "; ".join(bad[:3]))
    sys.exit(1)
print("no large deleted file is held open")
PY
