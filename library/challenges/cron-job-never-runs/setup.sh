#!/bin/bash
# A backup job that cron can never run: the cron.d file name has a dot,
# the entry lacks the user field, the script is not executable, and the
# destination belongs to root. cron itself is not running.
set -euo pipefail
# Containers have no audit/loginuid: let cron's PAM session work here.
sed -i -E 's/^(session\s+)required(\s+pam_loginuid\.so)/\1optional\2/' /etc/pam.d/cron 2>/dev/null || true

mkdir -p /var/lib/app /var/backups/db
python3 -c '
import sqlite3
db = sqlite3.connect("/var/lib/app/app.db")
db.execute("CREATE TABLE IF NOT EXISTS customers (id INTEGER PRIMARY KEY, name TEXT)")
db.executemany("INSERT INTO customers (name) VALUES (?)", [("ada",), ("grace",), ("linus",)])
db.commit()'
chmod 0644 /var/lib/app/app.db
chown root:root /var/backups/db
chmod 0755 /var/backups/db

cat > /usr/local/bin/db-backup.sh <<'EOT'
#!/bin/bash
# Consistent copy of the app database, compressed, keep the last 20.
set -euo pipefail
dest=/var/backups/db
stamp=$(date +%Y%m%dT%H%M%S)
python3 -c 'import sqlite3, sys; s = sqlite3.connect("file:/var/lib/app/app.db?mode=ro", uri=True); d = sqlite3.connect(sys.argv[1]); s.backup(d); d.close()' "$dest/app-$stamp.db"
gzip -9 "$dest/app-$stamp.db"
ls -1t "$dest"/app-*.db.gz | tail -n +21 | xargs -r rm --
echo "backup written: $dest/app-$stamp.db.gz"
EOT
chmod 0644 /usr/local/bin/db-backup.sh

cat > /etc/cron.d/db-backup.cron <<'EOT'
# Back up the app database every 15 minutes.
SHELL=/bin/bash
PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin
*/15 * * * * /usr/local/bin/db-backup.sh >> /var/log/db-backup.log 2>&1
EOT
chmod 0644 /etc/cron.d/db-backup.cron
touch /var/log/db-backup.log
