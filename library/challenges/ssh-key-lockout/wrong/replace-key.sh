#!/bin/bash
# Wrong: proves that *a* key works by replacing the CI key with a new one;
# the pipeline is still locked out.
set -euo pipefail
rm -f /root/.ssh/lab_key /root/.ssh/lab_key.pub
mkdir -p /root/.ssh
ssh-keygen -q -t ed25519 -N '' -f /root/.ssh/lab_key
chmod g-w /home/deploy
cp /root/.ssh/lab_key.pub /home/deploy/.ssh/authorized_keys
chown deploy:deploy /home/deploy/.ssh /home/deploy/.ssh/authorized_keys
chmod 0700 /home/deploy/.ssh
chmod 0600 /home/deploy/.ssh/authorized_keys
port=$(awk '/^Port/ {print $2}' /etc/ssh/sshd_config.d/10-deploy-host.conf)
ssh -i /root/.ssh/lab_key -p "$port" -o BatchMode=yes -o StrictHostKeyChecking=no -o UserKnownHostsFile=/dev/null deploy@127.0.0.1 true
