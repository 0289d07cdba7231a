#!/bin/bash
. "$(dirname "$0")/common.sh"
source lib/helpers.sh
source "${BASH_SOURCE[0]%/*}/../lib/nope.sh"
. "$(dirname "$0")/../lib/ok.sh"
. "$SOMEWHERE/unknown.sh"
. /etc/os-release
for f in $(wanted_files); do check "$f" || exit 1; done
