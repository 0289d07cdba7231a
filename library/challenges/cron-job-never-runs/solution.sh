#!/bin/bash
# Reference solution.
set -euo pipefail
mv /etc/cron.d/db-backup.cron /etc/cron.d/db-backup
sed -i -E 's#^(\*/15 \* \* \* \*) (/usr/local/bin/db-backup\.sh)#\1 backup \2#' /etc/cron.d/db-backup
chown root:root /etc/cron.d/db-backup
chmod 0644 /etc/cron.d/db-backup
chmod 0755 /usr/local/bin/db-backup.sh
chown backup:backup /var/backups/db
chmod 0750 /var/backups/db
chown backup:backup /var/log/db-backup.log
setpriv --reuid=backup --regid=backup --init-groups /usr/local/bin/db-backup.sh
cron
sleep 0.5
