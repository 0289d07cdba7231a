#!/bin/bash
# Wrong: giving the files to nginx's user lets a compromised worker rewrite them.
chown -R www-data:www-data /srv/shop
chmod -R u+rwX /srv/shop
