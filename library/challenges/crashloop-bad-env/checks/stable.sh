#!/bin/bash
# The process listening on the API's port must be the same at the start and
# at the end of a 3-second window (a crash-looping API changes pid or is
# not listening at all).
set -u
listeners() {
  sbx-port "$ORDERS_PORT" 2>/dev/null | while read -r pid _; do echo "${pid#pid=}"; done | sort -u | tr '\n' ' '
}
a=$(listeners)
if [ -z "$a" ]; then echo "nothing listens on the API's port"; exit 1; fi
sleep 3
b=$(listeners)
if [ "$a" != "$b" ]; then echo "the process on the API's port changed during the check ('$a' then '$b'): it is still crash-looping"; exit 1; fi
echo "the orders API stays up (pid $a)"
