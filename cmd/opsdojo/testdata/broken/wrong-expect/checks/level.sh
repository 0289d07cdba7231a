#!/bin/bash
source "${BASH_SOURCE[0]%/*}/../lib/conf.sh"
want level info
