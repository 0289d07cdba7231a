#!/bin/bash
# Static: no chmod that grants write to others (777, 666, o+w, a+w, 1777…).
set -u
f=$(sbx-path /workspace/notes/Dockerfile) || { echo "the Dockerfile is missing"; exit 1; }
python3 - "$f" <<'PY'
import re, sys
src = open(sys.argv[1]).read().replace("\\\n", " ")
for m in re.finditer(r"\bchmod\s+((?:-\S+\s+)*)(\S+)", src):
    mode = m.group(2)
    if re.fullmatch(r"[0-7]{3,4}", mode) and int(mode[-1]) & 2:
        print(f"`chmod {mode}` makes something world-writable"); sys.exit(1)
    if re.search(r"(^|,)[ugoa]*[oa][ugoa]*[+=][rwxXst]*w", mode) or re.fullmatch(r"\+[rwxXst]*w[rwxXst]*", mode):
        print(f"`chmod {mode}` makes something world-writable"); sys.exit(1)
print("nothing is made world-writable")
PY
