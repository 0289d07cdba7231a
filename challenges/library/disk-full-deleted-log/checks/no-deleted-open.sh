#!/bin/bash
# No sandbox process may hold an open file that was deleted and still takes
# more than 1 MiB (that space cannot be reclaimed until it is closed).
set -u
python3 - <<'PY'
import os, sys
root_ino = os.stat("/").st_ino
bad = []
for pid in (p for p in os.listdir("/proc") if p.isdigit()):
    try:
        if os.path.samefile(f"/proc/{pid}/root", "/"):
            continue  # the grader's own processes
        for fd in os.listdir(f"/proc/{pid}/fd"):
            target = os.readlink(f"/proc/{pid}/fd/{fd}")
            if not target.endswith(" (deleted)") or not target.startswith("/"):
                continue
            st = os.stat(f"/proc/{pid}/fd/{fd}")
            if st.st_blocks * 512 > 1 << 20:
                bad.append(f"pid {pid} holds {target} ({st.st_blocks * 512 >> 20} MiB)")
    except OSError:
        continue
if bad:
    print("deleted files still held open: " + "; ".join(bad[:3]))
    sys.exit(1)
print("no large deleted file is held open")
PY
