#!/usr/bin/env bash
# Channel pipeline benchmark (not a test): one MLLP source, a filter, three
# declarative steps and one Lua step, two MLLP destinations, durable at every
# hop, driven by `junction send --repeat N --concurrency C`. Reports end-to-end
# msg/s (from the store's timestamps), per-hop latency, and engine RSS while
# messages pile up for a destination that is down. Details: the docstring of
# bench/pipeline/run_pipeline.py; results: docs/performance-channels.md.
#
#   bench/pipeline.sh [BUILD_DIR]          # default build/release (built if missing)
#   REPEAT=40000 CONCURRENCY=128 RUNS=5 BACKLOG=0,50000,200000 bench/pipeline.sh
#   RECEIVER=python bench/pipeline.sh       # the asyncio receivers instead of the C++ ones
#   WINDOW=1 bench/pipeline.sh              # mllp window of both destinations (default: engine's)
#   ORDERING=strict bench/pipeline.sh       # ordering of both destinations (default best-effort,
#                                           # window 8; the backlog runs are always strict)
#
# Stores live under BUILD_DIR/bench-pipeline/ (fresh per run, deleted after).
# Only 127.0.0.1 is used.
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
build="${1:-$root/build/release}"
[[ "$build" = /* ]] || build="$PWD/$build"
junction="${JUNCTION_BIN:-$build/apps/junction/junction}"

if [[ ! -x "$junction" ]]; then
  echo "pipeline: building $junction (preset release)" >&2
  (cd "$root" && cmake --preset release >/dev/null && cmake --build --preset release --target junction)
fi

# The downstream receivers: the C++ pipeline_ack_receiver (bench/CMakeLists.txt,
# needs JUNCTION_BENCH=ON) unless RECEIVER=python.
receiver="${RECEIVER:-cpp}"
if [[ "$receiver" != python ]]; then
  receiver="${RECEIVER_BIN:-$build/bench/pipeline_ack_receiver}"
  if [[ ! -x "$receiver" ]]; then
    echo "pipeline: building $receiver" >&2
    cmake --build "$build" --target pipeline_ack_receiver >&2 || {
      echo "pipeline: no C++ receiver (configure with -DJUNCTION_BENCH=ON); using python" >&2
      receiver=python
    }
  fi
fi

workdir="$build/bench-pipeline"
mkdir -p "$workdir"
echo "machine: $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //'), load $(cut -d' ' -f1-3 /proc/loadavg)"
echo "disk under $workdir: $(df -h "$workdir" | awk 'NR==2 {print $1, $2}')"
echo "commit: $(git -C "$root" rev-parse --short HEAD 2>/dev/null || echo '?')"
echo "client: $junction send --repeat ${REPEAT:-40000} --concurrency ${CONCURRENCY:-128} bench/mllp/oru_r01_2k.hl7"
echo "receivers: $receiver (ACK at once), one per destination; ordering: ${ORDERING:-best-effort}; window: ${WINDOW:-default}"
echo

exec /usr/bin/python3 "$root/bench/pipeline/run_pipeline.py" \
  --junction "$junction" --workdir "$workdir" \
  --repeat "${REPEAT:-40000}" --concurrency "${CONCURRENCY:-128}" --runs "${RUNS:-3}" \
  --backlog "${BACKLOG-0,50000,200000}" --markdown "$workdir/results.md" \
  --receiver "$receiver" --ordering "${ORDERING:-best-effort}" ${WINDOW:+--window "$WINDOW"}
