#!/bin/bash
# Tests must fail the job (no "|| echo"), and release needs test.
set -euo pipefail
cat > /workspace/inventory/.github/workflows/ci.yml <<'YAML'
name: ci
on: [push]
jobs:
  test:
    runs-on: ubuntu-latest
    steps:
      - uses: actions/checkout@v4
      - name: Test
        run: python3 -m pytest -q
  release:
    needs: test
    runs-on: ubuntu-latest
    steps:
      - uses: actions/checkout@v4
      - name: Build
        run: |
          mkdir -p dist
          python3 -m zipapp src -m "inventory:main" -o dist/inventory.pyz
      - uses: actions/upload-artifact@v4
        with:
          name: release
          path: dist/inventory.pyz
YAML
