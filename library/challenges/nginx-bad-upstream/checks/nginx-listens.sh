#!/bin/bash
# Every process holding the :8080 listening socket must really be nginx:
# the running executable's content is the one the nginx package installed
# at /usr/sbin/nginx (sbx-port hashes it through /proc/PID/exe and compares
# with the pristine image's dpkg md5sums), so exec -a, a renamed or copied
# binary or a symlink are all told apart.
set -u
out=$(sbx-port 8080) || { echo "nothing listens on port 8080"; exit 1; }
while read -r pid uid verified pkg path; do
  path=${path#path=}
  if [ "$path" != /usr/sbin/nginx ] || [ "$verified" != verified=yes ] || [[ "$pkg" != pkg=nginx* ]]; then
    echo "port 8080 is held by $path (${pid}, ${verified}, ${pkg}), not nginx"; exit 1
  fi
done <<<"$out"
echo "nginx listens on port 8080"
