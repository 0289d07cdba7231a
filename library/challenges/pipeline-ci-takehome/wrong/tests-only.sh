#!/bin/bash
# Lint and tests, but nothing is packaged.
set -euo pipefail
cat > /workspace/app/.github/workflows/ci.yml <<'YAML'
name: ci
on: [push]
jobs:
  test:
    runs-on: ubuntu-latest
    steps:
      - uses: actions/checkout@v4
      - run: python3 -m flake8 .
      - run: python3 -m pytest -q
YAML
