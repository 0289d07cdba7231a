#!/bin/bash
# sshd must still refuse keys in unsafe places (StrictModes) and take only
# keys: no configuration file and no running sshd's command line turns
# StrictModes off, password logins on, or moves the authorized keys.
set -u
problems=()
# Globs expand in the sandbox's tree, not the grader's.
# One snapshot of the main file and the drop-in directory; a drop-in that
# is a symlink is resolved inside the sandbox on its own (sshd follows it).
{ IFS= read -r main; IFS= read -r d; } < <(sbx-path /etc/ssh/sshd_config /etc/ssh/sshd_config.d)
files=() paths=()
[ -n "$main" ] && files+=(/etc/ssh/sshd_config) paths+=("$main")
if [ -n "$d" ]; then
  for p in "$d"/*.conf; do
    if [ -L "$p" ]; then p=$(sbx-path "/etc/ssh/sshd_config.d/${p##*/}") || continue; fi
    [ -f "$p" ] || continue
    files+=("/etc/ssh/sshd_config.d/${p##*/}") paths+=("$p")
  done
fi
for i in "${!files[@]}"; do
  f=${files[$i]} p=${paths[$i]}
  while IFS= read -r line; do
    l=${line%%#*}
    read -r key val _ <<<"$l"
    key=${key,,}; val=${val,,}
    case "$key" in
      strictmodes) [ "$val" = no ] && problems+=("$f sets StrictModes no") ;;
      passwordauthentication|kbdinteractiveauthentication|permitemptypasswords)
        [ "$val" = yes ] && problems+=("$f turns ${key} on") ;;
      authorizedkeysfile|authorizedkeyscommand) problems+=("$f changes ${key}") ;;
    esac
  done < "$p"
done
while IFS= read -r cmd; do
  c=${cmd,,}
  if [[ "$c" == *strictmodes* || "$c" == *passwordauthentication* || "$c" == *authorizedkeys* || "$c" == *" -f "* ]]; then
    problems+=("a running sshd overrides its configuration: $cmd")
  fi
done < <(sbx-procs --json | python3 -c 'import json, sys
for p in json.load(sys.stdin):
    if p["comm"] == "sshd": print(" ".join(p["cmdline"]).replace("\n", " "))')
if [ ${#problems[@]} -gt 0 ]; then
  printf '%s\n' "${problems[@]}" | head -3
  exit 1
fi
echo "sshd keeps StrictModes and key-only logins"
