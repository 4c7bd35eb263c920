#!/usr/bin/env bash
# Installs the npm peers of the integration tests and the MLLP benchmark
# (node-hl7-client, node-hl7-server, fhir-kit-client) exactly as pinned by package-lock.json.
# Runs `npm ci` only when node_modules is missing or older than the lock file
# (a stamp holds the lock file's hash), so repeated `make test` runs are free.
# Without node/npm it says so and exits 0: the node peer tests then skip.
set -euo pipefail

dir="$(cd "$(dirname "${BASH_SOURCE[0]}")/node" && pwd)"
lock="$dir/package-lock.json"
stamp="$dir/node_modules/.junction-lock-stamp"

if ! command -v npm >/dev/null || ! command -v node >/dev/null; then
  echo "install-node-deps: node/npm not found; the node peer tests will be skipped" >&2
  exit 0
fi

want="$(sha256sum "$lock" | cut -d' ' -f1)"
if [[ -f "$stamp" && "$(cat "$stamp")" == "$want" ]]; then
  exit 0
fi

echo "install-node-deps: npm ci in ${dir#"$PWD/"}"
(cd "$dir" && npm ci --no-audit --no-fund --loglevel=error)
echo "$want" >"$stamp"
