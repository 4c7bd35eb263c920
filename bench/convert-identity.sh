#!/bin/bash
# Checks that two builds of the v2 -> FHIR converter give byte-identical output
# (compact and pretty JSON plus the issue list, four option sets) on the golden
# inputs, ../shared/corpus, the fuzz corpora and any extra files given.
#
#   bench/convert-identity.sh OLD_BUILD_DIR NEW_BUILD_DIR [EXTRA_FILE...]
#
# Each build dir must hold src/fhir/libjunction_fhir.a and src/hl7/libjunction_hl7.a
# (e.g. a checkout at the old commit built with the same flags). Exit 0 when identical.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
old=$1 new=$2
shift 2
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
for side in old new; do
  dir=${!side}
  g++ -std=c++20 -O1 -I"$root/include" -I"$root/src" "$root/bench/convert_dump.cpp" \
    "$dir/src/fhir/libjunction_fhir.a" "$dir/src/hl7/libjunction_hl7.a" \
    -Wl,-Bstatic -lboost_json -Wl,-Bdynamic -o "$work/dump_$side"  # Boost.JSON static, as src/fhir links it
done
{
  find "$root/tests/golden" "$root/fuzz/corpus/fuzz_convert" -type f \( -name '*.hl7' -o -name '*.bin' -o -name '*.txt' \)
  [ -d "$root/../shared/corpus" ] && find "$root/../shared/corpus" -type f \( -name '*.hl7' -o -name '*.bin' -o -name '*.txt' \)
  for d in "$root"/build/*/fuzz-corpus/fuzz_convert; do [ -d "$d" ] && find "$d" -type f; done
  for f in "$@"; do echo "$f"; done
} | sort > "$work/files"
echo "$(wc -l < "$work/files") files"
xargs -d '\n' "$work/dump_old" < "$work/files" > "$work/old.txt" 2>&1
xargs -d '\n' "$work/dump_new" < "$work/files" > "$work/new.txt" 2>&1
if cmp -s "$work/old.txt" "$work/new.txt"; then
  echo "identical ($(wc -c < "$work/new.txt") bytes of output)"
else
  diff <(head -c 2000000 "$work/old.txt") <(head -c 2000000 "$work/new.txt") | head -20
  echo "DIFFERENT"
  exit 1
fi
