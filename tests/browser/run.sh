#!/usr/bin/env bash
# Runs the status page's browser test, or skips it (exit 77, with the reason)
# where what it needs is missing: node, /usr/bin/chromium, or playwright-core
# in tests/browser/node_modules (scripts/test.sh installs all three).
#   tests/browser/run.sh BIN_DIR ARTIFACT_DIR
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
skip() { echo "SKIPPED: $*" >&2; exit 77; }
command -v node >/dev/null || skip "node is not installed (apt-get install nodejs npm)"
[ -x /usr/bin/chromium ] || skip "/usr/bin/chromium is missing (apt-get install chromium)"
[ -d "$here/node_modules/playwright-core" ] || skip "playwright-core is not installed (npm ci --prefix tests/browser)"
exec node "$here/status_page_test.mjs" "$@"
