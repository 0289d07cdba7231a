#!/bin/bash
set -euo pipefail
mkdir -p /srv/www
echo "under maintenance" > /srv/www/index.html
echo "db-password=hunter2" > /srv/www/secret.txt
chown root:root /srv/www/index.html
chmod 0600 /srv/www/index.html
