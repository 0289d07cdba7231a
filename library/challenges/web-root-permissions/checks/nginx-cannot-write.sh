#!/bin/bash
# www-data (uid 33, its groups from the sandbox's /etc/group) must not be
# able to write anything under /srv/shop, and nothing may be world-writable.
set -u
root=$(sbx-path /srv/shop) || { echo "/srv/shop is missing"; exit 1; }
python3 - "$root" <<'PY'
import os, stat, subprocess, sys
root = sys.argv[1]
gids = {33}
for line in subprocess.run(["sbx-cat", "/etc/group"], capture_output=True, text=True).stdout.splitlines(True):
    f = line.rstrip("\n").split(":")
    if len(f) >= 4 and "www-data" in f[3].split(","):
        try: gids.add(int(f[2]))
        except ValueError: pass
bad = []
for dirpath, dirnames, filenames in os.walk(root):
    for name in [""] + dirnames + filenames:
        p = os.path.join(dirpath, name) if name else dirpath
        st = os.lstat(p)
        if stat.S_ISLNK(st.st_mode):
            continue
        rel = "/srv/shop" + p[len(root):]
        m = st.st_mode
        if m & stat.S_IWOTH:
            bad.append(f"{rel} is world-writable")
        elif st.st_uid == 33 and m & stat.S_IWUSR:
            bad.append(f"{rel} is writable by its owner www-data")
        elif st.st_gid in gids and m & stat.S_IWGRP and st.st_uid != 33:
            bad.append(f"{rel} is group-writable by a group www-data is in")
    if len(bad) >= 3:
        break
if bad:
    print("nginx could modify the site: " + "; ".join(bad[:3])); sys.exit(1)
print("only deploy can modify the site")
PY
