#!/bin/bash
# Wrong: makes the service follow nginx's stale upstream instead of fixing
# nginx; everything that calls the catalog directly breaks.
set -e
port=$(grep -oE 'server 127\.0\.0\.1:[0-9]+' /etc/nginx/conf.d/catalog.conf | cut -d: -f2)
sed -i -E "s/^CATALOG_PORT=.*/CATALOG_PORT=${port}/" /etc/catalog/catalog.env
catalogctl restart
sleep 0.5
