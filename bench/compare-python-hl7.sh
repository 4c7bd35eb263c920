#!/usr/bin/env bash
# Side-by-side parse throughput: `junction stats` against python-hl7 (Debian
# python3-hl7: hl7.split_file + hl7.parse of every message), same machine, same run.
#
#   bench/compare-python-hl7.sh JUNCTION_BIN FILE [PY_MB] [RUNS]
#
# python-hl7 manages a few MB/s, so it gets only the first PY_MB megabytes of FILE
# (default 10, cut at a message boundary). junction reads that same slice 10 times
# in one run (`junction stats SLICE SLICE ...`, so the run is long enough to time),
# and the ratio is computed on those identical bytes; junction on the whole FILE is
# shown too. Every figure is the median of RUNS runs (default 3); MB = 10^6 bytes.
#
# Two clocks: "cpu" is user+system time of the process (steady on a shared, busy
# machine) and "wall" is elapsed time. junction's wall figure is the one
# `junction stats` prints (read + split + parse + count, in process); python's
# covers read + decode + split + parse, in process (interpreter start-up excluded).
set -euo pipefail

junction=${1:?usage: compare-python-hl7.sh JUNCTION_BIN FILE [PY_MB] [RUNS]}
file=${2:?usage: compare-python-hl7.sh JUNCTION_BIN FILE [PY_MB] [RUNS]}
py_mb=${3:-10}
runs=${4:-3}
here=$(cd "$(dirname "$0")" && pwd)
# Debian's python3-hl7 is installed for the system interpreter.
python=${PYTHON:-/usr/bin/python3}

median() { sort -g | awk '{a[NR]=$1} END {if (NR==0) {print "nan"; exit} if (NR%2) print a[(NR+1)/2]; else print (a[NR/2]+a[NR/2+1])/2}'; }

if ! "$python" -c 'import hl7' 2>/dev/null; then
  echo "compare-python-hl7: python-hl7 is not installed for $python (apt-get install python3-hl7)" >&2
  exit 2
fi

# The slice, written once so both tools read the same bytes.
slice="${file%.*}-first${py_mb}mb.hl7"
if [[ ! -s $slice || $slice -ot $file ]]; then
  "$python" - "$file" "$py_mb" "$slice" <<'PY'
import sys
src, mb, dst = sys.argv[1], float(sys.argv[2]), sys.argv[3]
with open(src, "rb") as f:
    data = f.read(int(mb * 1e6))
cut = data.rfind(b"\rMSH|")
if cut > 0 and len(data) == int(mb * 1e6):
    data = data[:cut + 1]
with open(dst, "wb") as f:
    f.write(data)
PY
fi

# One junction run over FILES: prints "wall_MBps cpu_MBps" (wall from stats itself).
junction_run() {
  local bytes=0 f err
  for f in "$@"; do bytes=$((bytes + $(stat -c %s "$f"))); done
  err=$("$python" "$here/cpu-time.py" "$junction" stats "$@" 2>&1 >/dev/null)
  local wall_mbs cpu
  wall_mbs=$(echo "$err" | sed -n 's/.*: \([0-9.]*\) MB\/s.*/\1/p' | tail -1)
  cpu=$(echo "$err" | tail -1 | awk '{print $2}')
  echo "$wall_mbs $(awk -v b="$bytes" -v c="$cpu" 'BEGIN {printf "%.1f", (c > 0 ? b / 1e6 / c : 0)}')"
}

slices=()
for _ in $(seq 10); do slices+=("$slice"); done
j_slice=$(for _ in $(seq "$runs"); do junction_run "${slices[@]}"; done)
j_full=$(for _ in $(seq "$runs"); do junction_run "$file"; done)
py=$(for _ in $(seq "$runs"); do "$python" "$here/python_hl7_parse.py" "$slice"; done)

j_slice_wall=$(echo "$j_slice" | awk '{print $1}' | median)
j_slice_cpu=$(echo "$j_slice" | awk '{print $2}' | median)
j_full_wall=$(echo "$j_full" | awk '{print $1}' | median)
j_full_cpu=$(echo "$j_full" | awk '{print $2}' | median)
py_wall=$(echo "$py" | awk '{print $5}' | median)
py_cpu=$(echo "$py" | awk '{print $6}' | median)
py_msgs=$(echo "$py" | head -1 | awk '{print $2}')
slice_mb=$(awk -v b="$(stat -c %s "$slice")" 'BEGIN {printf "%.1f", b / 1e6}')
full_mb=$(awk -v b="$(stat -c %s "$file")" 'BEGIN {printf "%.1f", b / 1e6}')
ratio() { awk -v a="$1" -v b="$2" 'BEGIN {printf "%.0f", (b > 0 ? a / b : 0)}'; }
py_version=$("$python" -c 'import importlib.metadata as m; print(m.version("hl7"))' 2>/dev/null || echo '?')

printf 'compare-python-hl7: median of %s runs, MB = 10^6 bytes, load average %s\n' "$runs" \
  "$(cut -d' ' -f1-3 /proc/loadavg)"
printf '  %-58s %10s %10s\n' "" "cpu MB/s" "wall MB/s"
printf '  %-58s %10s %10s\n' "python-hl7 $py_version, first $slice_mb MB ($py_msgs messages)" "$py_cpu" "$py_wall"
printf '  %-58s %10s %10s\n' "junction stats, the same $slice_mb MB read 10 times" "$j_slice_cpu" "$j_slice_wall"
printf '  %-58s %10s %10s\n' "junction stats, whole file ($full_mb MB)" "$j_full_cpu" "$j_full_wall"
printf '  %-58s %9sx %9sx\n' "ratio junction / python-hl7 (same bytes)" \
  "$(ratio "$j_slice_cpu" "$py_cpu")" "$(ratio "$j_slice_wall" "$py_wall")"
