#!/usr/bin/env bash
# ctest's browser/panel: the operator panel in headless Debian chromium
# against amid and ami-sim (AMI_BIN_DIR: the build's tools directory).
# scripts/test.sh runs `npm ci` here first; without node_modules this
# fails and says so (CI must run these tests, never skip them).
set -euo pipefail
cd "$(dirname "$0")"
export PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD=1
if [[ ! -d node_modules/playwright-core ]]; then
  echo "browser tests: run 'npm ci' in tests/browser first (scripts/test.sh does)" >&2
  exit 1
fi
if [[ ! -x ${CHROMIUM:-/usr/bin/chromium} ]]; then
  echo "browser tests: ${CHROMIUM:-/usr/bin/chromium} missing (scripts/install-deps.sh installs Debian's chromium)" >&2
  exit 1
fi
exec node --test --test-concurrency=1 --test-reporter=spec panel.test.mjs
