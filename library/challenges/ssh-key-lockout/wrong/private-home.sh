#!/bin/bash
# Wrong: logins work, but the developers group can no longer read the
# release notes under deploy's home.
set -euo pipefail
chmod 0700 /home/deploy
chown deploy:deploy /home/deploy/.ssh/authorized_keys
chmod 0700 /home/deploy/.ssh
chmod 0600 /home/deploy/.ssh/authorized_keys
