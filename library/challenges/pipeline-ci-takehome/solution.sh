#!/bin/bash
# Lint and test in one job; package in a second job that needs it.
set -euo pipefail
cat > /workspace/app/.github/workflows/ci.yml <<'YAML'
name: ci
on: [push, pull_request]
jobs:
  test:
    runs-on: ubuntu-latest
    steps:
      - uses: actions/checkout@v4
      - uses: actions/setup-python@v5
        with:
          python-version: '3.11'
      - name: Lint
        run: python3 -m flake8 .
      - name: Test
        run: python3 -m pytest -q
  package:
    needs: test
    runs-on: ubuntu-latest
    steps:
      - uses: actions/checkout@v4
      - name: Build the zipapp
        run: |
          mkdir -p dist
          python3 -m zipapp src -m "pricing:main" -o dist/pricing.pyz
      - uses: actions/upload-artifact@v4
        with:
          name: dist
          path: dist/pricing.pyz
YAML
