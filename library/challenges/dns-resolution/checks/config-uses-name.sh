#!/bin/bash
set -u
f=$(sbx-path /etc/storefront/storefront.env) || { echo "storefront.env is missing"; exit 1; }
while IFS= read -r l; do
  if [ "$l" = "DB_HOST=db.internal" ]; then echo "the storefront still uses db.internal"; exit 0; fi
done < "$f"
echo "DB_HOST in /etc/storefront/storefront.env is no longer db.internal"
exit 1
