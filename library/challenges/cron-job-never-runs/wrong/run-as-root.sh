#!/bin/bash
# Wrong: makes it work by running the job as root.
set -e
rm /etc/cron.d/db-backup.cron
cat > /etc/cron.d/db-backup <<'EOT'
SHELL=/bin/bash
*/15 * * * * root /usr/local/bin/db-backup.sh >> /var/log/db-backup.log 2>&1
EOT
chmod 0755 /usr/local/bin/db-backup.sh
cron
sleep 0.5
