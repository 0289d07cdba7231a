#!/bin/bash
. "$(dirname "$0")/../lib/common.sh"
source "${0%/*}/../lib/sub/more.sh"
check_all
