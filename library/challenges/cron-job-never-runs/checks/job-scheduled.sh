#!/bin/bash
# Reads the crontabs the way Debian's cron does: /etc/cron.d files whose
# names match ^[A-Za-z0-9_-]+$, regular, owned by root, not writable by
# group or others, lines with a user field, and a final newline; or the
# backup user's own crontab (/var/spool/cron/crontabs/backup, no user field).
set -u
python3 - <<'PY'
import os, re, stat, subprocess, sys
SCRIPT = "/usr/local/bin/db-backup.sh"

def every15(m, h, dom, mon, dow):
    if (h, dom, mon, dow) != ("*", "*", "*", "*"):
        return False
    if m in ("*/15", "0-59/15", "0,15,30,45"):
        return True
    try:
        return sorted(int(x) for x in m.split(",")) == [0, 15, 30, 45] or \
            (m.count(",") == 3 and sorted(int(x) for x in m.split(",")) in ([k, k + 15, k + 30, k + 45] for k in range(15)))
    except ValueError:
        return False

def entries(path, with_user):
    data = open(path, "rb").read().decode(errors="replace")
    lines = data.split("\n")
    if not data.endswith("\n"):
        lines = lines[:-1]  # cron ignores a last line without a newline
    for l in lines:
        l = l.strip()
        if not l or l.startswith("#") or re.match(r"^[A-Za-z_][A-Za-z0-9_]*\s*=", l):
            continue
        f = l.split(None, 6 if with_user else 5)
        if with_user and len(f) == 7:
            yield f[:5], f[5], f[6]
        elif not with_user and len(f) == 6:
            yield f[:5], "backup", f[5]

def snapshot(path, nofollow=False):
    """A private copy of the sandbox's path (sbx-path), or None."""
    r = subprocess.run(["sbx-path"] + (["--nofollow"] if nofollow else []) + [path], capture_output=True, text=True)
    return r.stdout.strip() if r.returncode == 0 else None

problems, ok = [], []
cdir = snapshot("/etc/cron.d") or "/nonexistent"
for name in sorted(os.listdir(cdir)) if os.path.isdir(cdir) else []:
    p = os.path.join(cdir, name)
    st = os.lstat(p)
    mentions = SCRIPT in open(p, errors="replace").read() if stat.S_ISREG(st.st_mode) else False
    if not mentions:
        continue
    if not re.fullmatch(r"[A-Za-z0-9_-]+", name):
        problems.append(f"/etc/cron.d/{name}: cron ignores files with this name"); continue
    if not stat.S_ISREG(st.st_mode) or st.st_uid != 0 or st.st_mode & 0o022:
        problems.append(f"/etc/cron.d/{name}: cron refuses it (must be a regular file owned by root, not group/world-writable)"); continue
    for sched, user, cmd in entries(p, True):
        if SCRIPT not in cmd:
            continue
        if user != "backup":
            problems.append(f"/etc/cron.d/{name}: the job runs as '{user}', not backup"); continue
        if not every15(*sched):
            problems.append(f"/etc/cron.d/{name}: schedule '{' '.join(sched)}' is not every 15 minutes"); continue
        ok.append(f"/etc/cron.d/{name}")
ut = snapshot("/var/spool/cron/crontabs/backup", nofollow=True)
if ut and os.path.isfile(ut) and not os.path.islink(ut):
    for sched, user, cmd in entries(ut, False):
        if SCRIPT in cmd and every15(*sched):
            ok.append("backup's crontab")
if ok:
    print("cron will run db-backup.sh every 15 minutes as backup (" + ", ".join(ok) + ")"); sys.exit(0)
print("; ".join(problems) if problems else "no crontab entry that cron accepts runs db-backup.sh (is the user field there?)")
sys.exit(1)
PY
