#!/bin/bash
# Wrong: /etc/hosts is read again, but still has the database's old address.
sed -i -E 's/^hosts:.*/hosts:          files dns/' /etc/nsswitch.conf
