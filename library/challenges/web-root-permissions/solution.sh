#!/bin/bash
# Reference solution: deploy owns everything, group www-data may read and
# traverse, nobody but deploy may write.
set -euo pipefail
chown -R deploy:www-data /srv/shop
find /srv/shop -type d -exec chmod 0750 {} +
find /srv/shop -type f -exec chmod 0640 {} +
curl -fsS -o /dev/null http://127.0.0.1:8080/
