#!/usr/bin/env bash
# Runs every libFuzzer target built in BUILD_DIR (cmake --preset fuzz) for SECONDS
# each, one after another, starting from fuzz/corpus/<target>/ and
# fuzz/regressions/<target>/. New interesting inputs go to a scratch corpus under
# BUILD_DIR (never into the repo); crashes go to BUILD_DIR/fuzz-artifacts/<target>/.
#
#   fuzz/run-all.sh build/fuzz 60            # what `make fuzz` runs
#   FUZZ_TARGETS="fuzz_parse" fuzz/run-all.sh build/fuzz 300
#   FUZZ_JOBS=2 fuzz/run-all.sh build/fuzz 60   # libFuzzer -fork=2 per target
#
# Exit status: 0 when no target found a problem, 1 otherwise (the crashing inputs
# are listed; keep each as fuzz/regressions/<target>/<name> once it is fixed).
set -euo pipefail

build_dir=${1:?usage: fuzz/run-all.sh BUILD_DIR [SECONDS]}
seconds=${2:-60}
here=$(cd "$(dirname "$0")" && pwd)
# Default: every fuzz_* executable the build produced (replay builds excluded).
if [[ -z ${FUZZ_TARGETS:-} ]]; then
  FUZZ_TARGETS=$(find "$build_dir/fuzz" -maxdepth 1 \( -type f -o -type l \) -name 'fuzz_*' \
                   ! -name '*_replay' -printf '%f\n' 2>/dev/null | sort | tr '\n' ' ')
fi
targets=$FUZZ_TARGETS
if [[ -z ${targets// /} ]]; then
  echo "fuzz: no fuzz targets in $build_dir/fuzz (build with: cmake --preset fuzz && cmake --build --preset fuzz)" >&2
  exit 2
fi
max_len=${FUZZ_MAX_LEN:-8192}

failed=()
for target in $targets; do
  bin="$build_dir/fuzz/$target"
  if [[ ! -x $bin ]]; then
    echo "fuzz: $target not built in $build_dir (skipped)"
    continue
  fi
  work="$build_dir/fuzz-corpus/$target"
  artifacts="$build_dir/fuzz-artifacts/$target"
  mkdir -p "$work" "$artifacts"
  seeds=("$here/corpus/$target")
  [[ -d $here/regressions/$target ]] && seeds+=("$here/regressions/$target")
  fork_args=()
  [[ -n ${FUZZ_JOBS:-} ]] && fork_args=(-fork="$FUZZ_JOBS" -ignore_crashes=1)
  echo "fuzz: $target for ${seconds}s"
  log="$build_dir/fuzz-artifacts/$target.log"
  # The first directory receives new inputs; the rest are read-only seeds.
  if ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1} \
      UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1} \
      "$bin" "$work" "${seeds[@]}" \
      -dict="$here/hl7.dict" -max_total_time="$seconds" -max_len="$max_len" \
      -timeout=10 -rss_limit_mb=2048 -print_final_stats=1 \
      -artifact_prefix="$artifacts/" "${fork_args[@]}" >"$log" 2>&1; then
    grep -E '^stat::(number_of_executed_units|new_units_added|peak_rss_mb)' "$log" | sed 's/^/  /' || true
  else
    echo "  FAILED: see $log"
    grep -E 'ERROR:|invariant failed|SUMMARY' "$log" | head -5 | sed 's/^/  /' || true
    failed+=("$target")
  fi
  for f in "$artifacts"/crash-* "$artifacts"/leak-* "$artifacts"/timeout-* "$artifacts"/oom-*; do
    [[ -e $f ]] && echo "  artifact: $f"
  done
done

if ((${#failed[@]})); then
  echo "fuzz: problems found in: ${failed[*]}"
  echo "fuzz: reproduce with: $build_dir/fuzz/<target> <artifact>; once fixed, copy the"
  echo "      artifact to fuzz/regressions/<target>/ so it replays under ctest."
  exit 1
fi
echo "fuzz: all targets ran ${seconds}s without a finding"
