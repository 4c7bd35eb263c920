#!/usr/bin/env bash
# MLLP ingest benchmark (not a test): `junction serve` storing durably vs two
# servers that ACK without storing (python-hl7's asyncio server, node-hl7-server),
# all driven by the same client, `junction send --repeat N --concurrency C`,
# with a ~2 KB ORU^R01 at 1, 8 and 32 connections. Prints msg/s and p50/p99
# side by side (median of RUNS runs), the ratios, and junction's peak RSS.
#
#   bench/mllp-ingest.sh [BUILD_DIR]        # default build/release (built if missing)
#   REPEAT=20000 RUNS=3 CONCURRENCY=1,8,32 SERVERS=junction,python-hl7,node-hl7 \
#   NODE_PER_CONNECTION=100 bench/mllp-ingest.sh
#
# The store lives on disk under BUILD_DIR/bench-mllp/ (one fresh store per run).
# Only 127.0.0.1 is used. Results: docs/performance-mllp.md.
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
build="${1:-$root/build/release}"
[[ "$build" = /* ]] || build="$PWD/$build"
junction="${JUNCTION_BIN:-$build/apps/junction/junction}"

if [[ ! -x "$junction" ]]; then
  echo "mllp-ingest: building $junction (preset release)" >&2
  (cd "$root" && cmake --preset release >/dev/null && cmake --build --preset release --target junction)
fi

"$root/tests/integration/install-node-deps.sh"
servers="${SERVERS:-junction,python-hl7,node-hl7}"
if ! /usr/bin/python3 -c 'import hl7.mllp' 2>/dev/null; then
  echo "mllp-ingest: python3-hl7 missing (apt-get install python3-hl7); skipping python-hl7" >&2
  servers="${servers//python-hl7/}"
fi
if ! command -v node >/dev/null; then
  echo "mllp-ingest: node missing; skipping node-hl7" >&2
  servers="${servers//node-hl7/}"
fi
servers="$(echo "$servers" | tr -s ',' | sed 's/^,//; s/,$//')"

workdir="$build/bench-mllp"
mkdir -p "$workdir"
echo "machine: $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //'), load $(cut -d' ' -f1-3 /proc/loadavg)"
echo "disk under $workdir: $(df -h "$workdir" | awk 'NR==2 {print $1, $2}')"
echo "message: bench/mllp/oru_r01_2k.hl7 ($(wc -c <"$root/bench/mllp/oru_r01_2k.hl7") bytes)"
echo "client: $junction send --repeat ${REPEAT:-20000} --concurrency C"
echo

extra=()
[[ -n "${NODE_PER_CONNECTION:-}" ]] && extra+=(--node-per-connection "$NODE_PER_CONNECTION")
exec /usr/bin/python3 "$root/bench/mllp/run_ingest.py" \
  --junction "$junction" --workdir "$workdir" \
  --concurrency "${CONCURRENCY:-1,8,32}" --repeat "${REPEAT:-20000}" --runs "${RUNS:-3}" \
  --servers "$servers" --markdown "$workdir/results.md" "${extra[@]}"
