#!/usr/bin/env bash
# FHIR API benchmark (not a test): load 10,000 patients and 100,000
# observations through transaction Bundles (resources/s), then wrk for read
# by id and Observation?patient=X&code=Y (requests/s). Details: the docstring
# of bench/fhir/run_fhir_bench.py; results: docs/performance.md.
#
#   bench/fhir/run.sh [BUILD_DIR]            # default build/release (built if missing)
#   PATIENTS=2000 RUNS=1 DURATION=5s bench/fhir/run.sh build/release
#   DURABLE=1 bench/fhir/run.sh build/release     # fsync every commit, as deployed
#
# The store lives under BUILD_DIR/bench-fhir/ (fresh per run, deleted after),
# with fhir_store.durable: false. Only 127.0.0.1 is used.
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
build="${1:-$root/build/release}"
[[ "$build" = /* ]] || build="$PWD/$build"
junction="${JUNCTION_BIN:-$build/apps/junction/junction}"

if [[ ! -x "$junction" ]]; then
  echo "fhir bench: building $junction (preset release)" >&2
  (cd "$root" && cmake --preset release >/dev/null && cmake --build --preset release --target junction)
fi
if ! command -v wrk >/dev/null; then
  echo "fhir bench: installing wrk (Debian package)" >&2
  sudo_cmd=()
  [[ $(id -u) -eq 0 ]] || sudo_cmd=(sudo)
  DEBIAN_FRONTEND=noninteractive "${sudo_cmd[@]}" apt-get install -y -qq --no-install-recommends wrk
fi

workdir="$build/bench-fhir"
mkdir -p "$workdir"
echo "machine: $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //'), load $(cut -d' ' -f1-3 /proc/loadavg)"
echo "commit: $(git -C "$root" rev-parse --short HEAD 2>/dev/null || echo '?'), $(date -u +%Y-%m-%dT%H:%MZ)"
echo "client: wrk $(wrk --version 2>&1 | head -1 | awk '{print $2}') on the same 2 cores as the server"
echo

exec /usr/bin/python3 "$root/bench/fhir/run_fhir_bench.py" \
  --junction "$junction" --workdir "$workdir" \
  --patients "${PATIENTS:-10000}" --obs-per-patient "${OBS_PER_PATIENT:-10}" \
  --bundle-patients "${BUNDLE_PATIENTS:-20}" --concurrency "${CONCURRENCY:-4}" \
  ${DURABLE:+--durable} \
  --wrk-threads "${WRK_THREADS:-2}" --wrk-connections "${WRK_CONNECTIONS:-32}" \
  --duration "${DURATION:-10s}" --runs "${RUNS:-3}" --json "$workdir/results.json"
