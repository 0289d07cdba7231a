#!/bin/bash
# Wrong: cron now reads the file, but the entry still has no user field and
# the script is still not executable.
mv /etc/cron.d/db-backup.cron /etc/cron.d/db-backup
cron
sleep 0.5
