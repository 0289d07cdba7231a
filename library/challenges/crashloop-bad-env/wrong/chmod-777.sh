#!/bin/bash
# Wrong: the API runs, but its data directory is writable by everyone.
sed -i 's/^ORDER_DB_PATH=/ORDERS_DB_PATH=/' /etc/orders/orders.env
chmod 0777 /var/lib/orders
sleep 2.5
