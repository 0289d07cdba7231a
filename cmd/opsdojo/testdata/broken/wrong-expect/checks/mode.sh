#!/bin/bash
. "$(dirname "$0")/../lib/conf.sh"
want mode fixed
