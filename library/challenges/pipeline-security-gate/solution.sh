#!/bin/bash
# A security job: pins checked against the advisory list, secrets grepped.
set -euo pipefail
cat > /workspace/shop/.github/workflows/ci.yml <<'YAML'
name: ci
on: [push, pull_request]
jobs:
  test:
    runs-on: ubuntu-latest
    steps:
      - uses: actions/checkout@v4
      - run: python3 -m pytest -q
  security:
    runs-on: ubuntu-latest
    steps:
      - uses: actions/checkout@v4
      - name: No known-vulnerable pins
        run: |
          bad=0
          while read -r pin id summary; do
            case "$pin" in ''|'#'*) continue;; esac
            if tr 'A-Z' 'a-z' < requirements.txt | tr -d ' \r' | grep -qxF "$(echo "$pin" | tr 'A-Z' 'a-z')"; then
              echo "::error::$pin is vulnerable: $id $summary"
              bad=1
            fi
          done < security/advisories.txt
          exit "$bad"
      - name: No committed secrets
        run: |
          if grep -rEnI --exclude-dir=.git 'AKIA[0-9A-Z]{16}|-----BEGIN [A-Z ]*PRIVATE KEY-----' .; then
            echo "::error::secret committed (see above)"
            exit 1
          fi
YAML
