#!/bin/bash
# The deploy host: sshd on SSH_PORT (loopback only), the deploy user whose CI
# key is authorised, and the permissions a well-meant "make deploy's home
# shared with the team" left behind.
set -euo pipefail
: "${SSH_PORT:?}" "${DEPLOY_BUILD:?}"
groupadd developers
useradd --create-home --shell /bin/bash deploy
useradd --create-home --shell /bin/bash --groups developers alice
usermod -aG developers deploy
usermod -p '*' deploy # key-only: no password, but not a locked account

mkdir -p /home/deploy/.ssh /home/deploy/releases
# The CI pipeline's deploy key. Its private half exists only in the grader.
echo 'ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIFOASnrAeHKshUWe9ZOWlLXDo85v2SUCkP8EwSqkBbsX deploy-ci' > /home/deploy/.ssh/authorized_keys
cat > /home/deploy/releases/NOTES.md <<EOT
# Release notes

Current build: ${DEPLOY_BUILD}. Deployed by CI as \`deploy\` over SSH.
EOT
echo "${DEPLOY_BUILD}" > /home/deploy/releases/CURRENT
chown -R deploy:deploy /home/deploy
chown deploy:developers /home/deploy /home/deploy/releases /home/deploy/releases/*
chmod 2750 /home/deploy/releases
chmod 0640 /home/deploy/releases/*

# Yesterday's change: "let the developers group manage deploy's files".
chmod 2775 /home/deploy
chmod 0777 /home/deploy/.ssh
chown alice:developers /home/deploy/.ssh/authorized_keys
chmod 0664 /home/deploy/.ssh/authorized_keys

ssh-keygen -A >/dev/null
cat > /etc/ssh/sshd_config.d/10-deploy-host.conf <<EOT
# Deploy host: keys only, on the deploy port (loopback in this lab).
Port ${SSH_PORT}
ListenAddress 127.0.0.1
PasswordAuthentication no
KbdInteractiveAuthentication no
# Containers have no PAM session support (no audit, no loginuid).
UsePAM no
EOT
/usr/sbin/sshd -t
/usr/sbin/sshd -E /var/log/sshd.log

mkdir -p /var/log/ci
cat > /var/log/ci/deploy.log <<EOT
[ci] job deploy#4711: ssh -p ${SSH_PORT} deploy@this-host 'releases/activate'
deploy@this-host: Permission denied (publickey).
[ci] job deploy#4711 failed after 3 attempts
EOT
