#!/bin/bash
# Wrong: logins work again, but sshd now accepts keys that anyone could have
# written, and the .ssh directory stays world-writable.
set -euo pipefail
echo 'StrictModes no' > /etc/ssh/sshd_config.d/00-relax.conf
pkill -x sshd || true
sleep 0.5
/usr/sbin/sshd -E /var/log/sshd.log
