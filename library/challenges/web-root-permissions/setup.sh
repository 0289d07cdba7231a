#!/bin/bash
# Deploys the shop's static site with the permissions a broken pipeline
# left behind (a umask of 077 and a root-owned web root), and serves it with
# nginx as www-data.
set -euo pipefail
: "${SHOP_WORD:?}"
useradd --create-home --shell /bin/bash deploy
mkdir -p /srv/shop/assets /srv/shop/docs
cat > /srv/shop/index.html <<EOT
<!doctype html>
<html><head><title>Shop</title><link rel="stylesheet" href="/assets/site.css"></head>
<body><h1>Welcome to the shop</h1><p>Today's deal: ${SHOP_WORD}</p></body></html>
EOT
cat > /srv/shop/assets/site.css <<'EOT'
body { font-family: sans-serif; margin: 2rem; }
h1 { color: #235; }
EOT
echo '<!doctype html><p>Shipping takes 2-3 days.</p>' > /srv/shop/docs/shipping.html

# What the pipeline left: umask 077 everywhere, a root-owned web root.
chown -R deploy:deploy /srv/shop
find /srv/shop -type d -exec chmod 0700 {} +
find /srv/shop -type f -exec chmod 0600 {} +
chown root:root /srv/shop
chmod 0750 /srv/shop

cat > /etc/nginx/conf.d/shop.conf <<'EOT'
server {
    listen 8080 default_server;
    server_name _;
    root /srv/shop;
    index index.html;
    location / { try_files $uri $uri/ =404; }
}
EOT
nginx
for _ in $(seq 30); do curl -s -o /dev/null http://127.0.0.1:8080/ && break; sleep 0.1; done
curl -s -o /dev/null http://127.0.0.1:8080/ || true
