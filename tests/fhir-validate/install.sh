#!/usr/bin/env bash
# Installs the validator's npm dependencies from the committed lock file, only when
# node_modules is missing or package-lock.json changed since the last install.
#   tests/fhir-validate/install.sh        (make test calls it)
set -euo pipefail
cd "$(dirname "$0")"
if ! command -v npm >/dev/null 2>&1; then
  echo "fhir-validate: npm not found (install Node.js 18+)" >&2
  exit 3
fi
stamp=node_modules/.junction-lock.sha256
want=$(sha256sum package-lock.json package.json | sha256sum | cut -d' ' -f1)
if [[ -f "$stamp" && "$(cat "$stamp")" == "$want" ]]; then
  exit 0
fi
npm ci --no-audit --no-fund --loglevel=error
echo "$want" > "$stamp"
echo "fhir-validate: installed $(node -p 'require("ajv/package.json").version' 2>/dev/null | sed 's/^/ajv /')" >&2
