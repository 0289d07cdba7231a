#!/bin/bash
set -euo pipefail
mkdir -p /srv/www
echo "under maintenance" > /srv/www/index.html
