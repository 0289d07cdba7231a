#!/bin/bash
set -u
d=$(sbx-path /workspace/modules/log-bucket) || { echo "the module directory is missing"; exit 1; }
python3 - "$d" <<'PY'
import glob, os, re, sys
bad = []
for f in sorted(glob.glob(os.path.join(sys.argv[1], "*.tf"))):
    src = re.sub(r"(?m)(#|//).*$", "", open(f).read())
    src = re.sub(r"/\*.*?\*/", "", src, flags=re.S)
    if re.search(r'(?m)^\s*provider\s+"?[A-Za-z0-9_-]+"?\s*\{', src):
        bad.append(os.path.basename(f))
if bad:
    print("a provider block is configured in " + ", ".join(bad) + ": callers cannot choose region or credentials"); sys.exit(1)
print("no provider configuration in the module")
PY
