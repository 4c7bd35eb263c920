#!/usr/bin/env bash
# Runs the console's browser test (ctest: browser_console). Installs
# playwright-core from the committed lock file when node_modules is missing or
# stale (never a browser: PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD=1; Debian's chromium
# is used). Exit 77 (ctest SKIP_RETURN_CODE) without node/npm; without
# chromium the test itself reports SKIP and passes.
set -euo pipefail

dir="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
if ! command -v node >/dev/null || ! command -v npm >/dev/null; then
  echo "SKIP: node/npm not found" >&2
  exit 77
fi

lock="$dir/package-lock.json"
stamp="$dir/node_modules/.junction-lock-stamp"
want="$(sha256sum "$lock" | cut -d' ' -f1)"
if [[ ! -f "$stamp" || "$(cat "$stamp")" != "$want" ]]; then
  echo "browser: npm ci in tests/browser"
  (cd "$dir" && PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD=1 npm ci --no-audit --no-fund --loglevel=error)
  echo "$want" >"$stamp"
fi

cd "$dir"
exec node --test --test-reporter=spec console.test.mjs
