#!/usr/bin/env bash
# Runs every benchmark against the release build and prints a summary with the
# project's targets (called by `make bench` as `bench/run-all.sh build/release`).
#
#   bench/run-all.sh [BUILD_DIR]      # default build/release
#   BENCH_RUNS=9 BENCH_MB=100 bench/run-all.sh build/release
#
# 1. hl7_bench (Google Benchmark): BENCH_RUNS repetitions, medians reported.
# 2. `junction stats` over a generated mixed ADT/ORU file of BENCH_MB MB
#    (bench/gen-messages.py, fixed seed, written under build/bench-data/, never
#    committed), BENCH_RUNS runs, median.
# 3. bench/compare-python-hl7.sh: the same kind of file through python-hl7.
# Results also go to BUILD_DIR/bench-results.json. Numbers are one core.
set -euo pipefail

build_dir=${1:-build/release}
runs=${BENCH_RUNS:-5}
mb=${BENCH_MB:-100}
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/.." && pwd)
python=${PYTHON:-/usr/bin/python3}
bench_bin="$build_dir/bench/hl7_bench"
junction="$build_dir/apps/junction/junction"
data_dir="$root/build/bench-data"
data="$data_dir/mixed-${mb}mb.hl7"

for bin in "$bench_bin" "$junction"; do
  [[ -x $bin ]] || { echo "run-all: $bin is missing; run 'make release' first" >&2; exit 2; }
done

median() { sort -g | awk '{a[NR]=$1} END {if (NR==0) {print "nan"; exit} if (NR%2) print a[(NR+1)/2]; else print (a[NR/2]+a[NR/2+1])/2}'; }

echo "== machine"
echo "  $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2- | sed 's/^ *//'), nproc $(nproc)," \
  "load average $(cut -d' ' -f1-3 /proc/loadavg), $(date -u +%Y-%m-%dT%H:%MZ)"
echo "  commit $(git -C "$root" rev-parse --short HEAD 2>/dev/null || echo '?')"

echo "== hl7_bench ($runs repetitions, median)"
json="$build_dir/bench-results.json"
"$bench_bin" --benchmark_repetitions="$runs" --benchmark_report_aggregates_only=true \
  --benchmark_out="$json" --benchmark_out_format=json >/dev/null 2>"$build_dir/bench-context.log"
"$python" - "$json" <<'PY'
import json, sys
doc = json.load(open(sys.argv[1]))
rows = [b for b in doc["benchmarks"] if b.get("aggregate_name") == "median"]
for b in rows:
    name = b["run_name"]
    rate = ""
    if "bytes_per_second" in b:
        rate = "%9.1f MB/s" % (b["bytes_per_second"] / 1e6)
    elif "items_per_second" in b:
        rate = "%9.1f M items/s" % (b["items_per_second"] / 1e6)
    print("  %-26s %10.0f ns cpu %10.0f ns real  %s" % (name, b["cpu_time"], b["real_time"], rate))
targets = {"BM_ParseIndex": 1000.0, "BM_ParseVisitDecoded": 300.0}
for b in rows:
    if b["run_name"] in targets:
        got = b["bytes_per_second"] / 1e6
        want = targets[b["run_name"]]
        print("  target %-22s >= %6.0f MB/s: %7.1f MB/s  %s" % (b["run_name"], want, got,
              "met" if got >= want else "MISSED"))
PY

if [[ ! -s $data ]]; then
  echo "== generating $data"
  "$python" "$here/gen-messages.py" --size-mb "$mb" --out "$data"
fi

echo "== junction stats on $(basename "$data") ($runs runs, median)"
walls=()
cpus=()
bytes=$(stat -c %s "$data")
for _ in $(seq "$runs"); do
  err=$("$python" "$here/cpu-time.py" "$junction" stats "$data" 2>&1 >/dev/null) || true
  walls+=("$(echo "$err" | sed -n 's/.*: \([0-9.]*\) MB\/s.*/\1/p' | tail -1)")
  cpus+=("$(echo "$err" | tail -1 | awk -v b="$bytes" '{printf "%.1f", ($2 > 0 ? b / 1e6 / $2 : 0)}')")
done
echo "  wall (as printed by stats): $(printf '%s\n' "${walls[@]}" | median) MB/s   runs: ${walls[*]}"
echo "  cpu (user+sys):             $(printf '%s\n' "${cpus[@]}" | median) MB/s   runs: ${cpus[*]}"
echo "  command: $junction stats $data"

echo "== python-hl7 comparison"
if "$python" -c 'import hl7' 2>/dev/null; then
  "$here/compare-python-hl7.sh" "$junction" "$data" 10 "${BENCH_PY_RUNS:-3}"
  echo "  target: junction stats >= 200x python-hl7"
else
  echo "  skipped: python3-hl7 is not installed (make deps)"
fi

echo "== MLLP ingest (junction serve vs python-hl7 and node-hl7-server)"
"$here/mllp-ingest.sh" "$1"
