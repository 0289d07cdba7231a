#!/bin/bash
# Wrong: everything is in place, but the script and the backup directory
# are world-writable: anyone can make the backup user run their code.
set -e
mv /etc/cron.d/db-backup.cron /etc/cron.d/db-backup
sed -i -E 's#^(\*/15 \* \* \* \*) (/usr/local/bin/db-backup\.sh)#\1 backup \2#' /etc/cron.d/db-backup
chmod 0777 /usr/local/bin/db-backup.sh /var/backups/db /var/log/db-backup.log
cron
sleep 0.5
