#!/bin/bash
# What cron's child needs to succeed: the script is executable by backup and
# safe (owned by root, not writable by others), its interpreter exists, and
# backup can write into /var/backups/db (which no one else may write to).
set -u
python3 - <<'PY'
import os, pwd, stat, subprocess, sys
def snapshots(paths, nofollow):
    """Private copies of the sandbox's paths (sbx-path, one call), or paths that do not exist."""
    r = subprocess.run(["sbx-path"] + (["--nofollow"] if nofollow else []) + paths, capture_output=True, text=True)
    got = r.stdout.split("\n")
    return [got[i] if i < len(got) and got[i] else "/nonexistent" + p for i, p in enumerate(paths)]
passwd, group = snapshots(["/etc/passwd", "/etc/group"], False)
script, backups = snapshots(["/usr/local/bin/db-backup.sh", "/var/backups/db"], True)
uid = gid = None
for line in open(passwd):
    f = line.split(":")
    if f[0] == "backup": uid, gid = int(f[2]), int(f[3])
if uid in (None, 0):
    print("the backup user is missing or has uid 0"); sys.exit(1)
groups = {gid}
for line in open(group):
    f = line.rstrip("\n").split(":")
    if len(f) >= 4 and "backup" in f[3].split(","): groups.add(int(f[2]))
def can(st, bit):  # bit: 4 r, 2 w, 1 x
    if st.st_uid == uid: return bool(st.st_mode >> 6 & bit)
    if st.st_gid in groups: return bool(st.st_mode >> 3 & bit)
    return bool(st.st_mode & bit)
s = script
if os.path.islink(s) or not os.path.isfile(s):
    print("/usr/local/bin/db-backup.sh is missing"); sys.exit(1)
st = os.stat(s)
if not (can(st, 1) and can(st, 4)):
    print("backup cannot execute /usr/local/bin/db-backup.sh (mode %o)" % (st.st_mode & 0o7777)); sys.exit(1)
if st.st_mode & 0o022 or st.st_uid not in (0,):
    print("/usr/local/bin/db-backup.sh can be modified by users other than root (mode %o, uid %d)" % (st.st_mode & 0o7777, st.st_uid)); sys.exit(1)
first = open(s, "rb").readline()
if first.startswith(b"#!"):
    interp = first[2:].split()[0].decode()
    if not os.path.isfile(snapshots([interp], False)[0]):
        print(f"the script's interpreter {interp} does not exist"); sys.exit(1)
d = backups
if os.path.islink(d) or not os.path.isdir(d):
    print("/var/backups/db is missing"); sys.exit(1)
st = os.stat(d)
if not (can(st, 2) and can(st, 1)):
    print("backup cannot write into /var/backups/db (owner uid %d, mode %o)" % (st.st_uid, st.st_mode & 0o7777)); sys.exit(1)
if st.st_mode & 0o002 and not st.st_mode & 0o1000:
    print("/var/backups/db is world-writable: anyone can plant or replace backups"); sys.exit(1)
print("backup can run the script and write its backups")
PY
