#!/bin/bash
# Reference solution: sshd's StrictModes refuses keys when the home
# directory, ~/.ssh or authorized_keys can be written by anyone but the user.
# Keep the group's read access to the home directory, drop its write access.
set -euo pipefail
chmod g-w,o-w /home/deploy
chown deploy:deploy /home/deploy/.ssh /home/deploy/.ssh/authorized_keys
chmod 0700 /home/deploy/.ssh
chmod 0600 /home/deploy/.ssh/authorized_keys
