#!/bin/bash
# Checks pins (case-insensitively) but not secrets.
set -euo pipefail
cat >> /workspace/shop/.github/workflows/ci.yml <<'YAML'
  security:
    runs-on: ubuntu-latest
    steps:
      - uses: actions/checkout@v4
      - run: "! grep -ixFf <(grep -v '^#' security/advisories.txt | awk 'NF {print $1}') requirements.txt"
YAML
