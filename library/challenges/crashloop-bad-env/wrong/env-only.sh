#!/bin/bash
# Wrong: fixes the variable name only; the API now dies on the database.
sed -i 's/^ORDER_DB_PATH=/ORDERS_DB_PATH=/' /etc/orders/orders.env
ordersctl restart
sleep 2
