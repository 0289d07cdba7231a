#!/bin/bash
# Wrong: the API starts, but anyone can now write (and forge) its logs.
set -e
chmod 0777 /var/log/status-api
status-api restart
